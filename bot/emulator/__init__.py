"""Local stand-ins for Zoom and Slack, for tests, the offline demo and development."""
