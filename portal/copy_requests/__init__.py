"""Copies of digitized results: requests from citizens and businesses, processed by the one-stop shop."""
