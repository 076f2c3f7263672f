"""Product and regulatory corpus: structure-aware chunks with canonical citations, hybrid search."""
