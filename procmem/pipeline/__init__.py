"""Floor 6: pipelines that run the stages in order, resumably (the demo, the orderings)."""
