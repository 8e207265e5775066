"""The `mynumber` command for operators and residents."""
