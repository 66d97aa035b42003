"""The built-in simulator of the WhatsApp network (the default upstream)."""

from wagate.upstreams.simulator.upstream import SimulatorUpstream

__all__ = ["SimulatorUpstream"]
