"""GraphQL (Strawberry) over the caller's own customer view: `me` and nothing else."""
