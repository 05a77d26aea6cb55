"""Receiving files: the inbox, the content-addressed archive and its manifest, the verdict journal."""
