"""Stored scans: a content-addressed store on disk, and the inspection of a file's bytes."""
