"""Placeholder: claims of this source are being written."""
