"""`make bench`: performance figures printed beside baselines measured in the same run."""
