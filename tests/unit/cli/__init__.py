"""Tests of the mynumber command-line tool."""
