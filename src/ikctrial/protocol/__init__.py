"""The trial protocol as typed data, loaded from a YAML file (built-in: NCT03592706)."""

from ikctrial.protocol.loader import load_protocol, protocol_from_mapping, protocol_from_yaml
from ikctrial.protocol.model import CRITERION_IDS, Protocol

__all__ = [
    "CRITERION_IDS",
    "Protocol",
    "load_protocol",
    "protocol_from_mapping",
    "protocol_from_yaml",
]
