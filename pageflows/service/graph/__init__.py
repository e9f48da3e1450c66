"""Talking to the Graph API: one transport seam, one client."""
