"""Release: the generated CI workflow and the publish gate."""
