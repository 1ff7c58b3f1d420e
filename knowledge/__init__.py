"""Policy knowledge base: schema, loading, and question matching.

Nothing in this package performs I/O after a knowledge base is loaded; matching is pure.
"""
