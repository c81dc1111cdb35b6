"""Zoom's OAuth (including RFC 8628's device grant) and REST API.

Nothing here knows about Slack: the chat side calls in and gets plain data or a named error back.
"""
