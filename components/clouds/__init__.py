"""One module per cloud, each implementing components.backend.CloudBackend.

Rules of this room:
- a cloud module imports the interface (components.backend), the core and its own
  provider SDK, never another cloud module;
- every provider quirk (Neutron ethertypes, AWS one source per rule, Octavia's
  listener CIDRs) stays in its cloud's module;
- which cloud a stack uses is chosen above this room (components.backend_for).
"""
