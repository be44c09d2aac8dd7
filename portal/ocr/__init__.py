"""Text read from scans (Tesseract's Vietnamese model) and from PDF text layers, for search."""
