"""Renderers: resolved rules turned into text for people and host firewalls.

Rules of this room:
- reads only what the core resolved (`Resolution.rules`), decides nothing about ports;
- imports the core and this room only: no pulumi, no plan, cli or components;
- everything written from data (names, purposes, paths) is escaped for its format.
"""
