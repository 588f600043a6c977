"""Persistence: the state codec (snapshot / restore documents) and the SQLite store."""

from simulator.persistence.codec import (
    StateFormatError,
    decode_value,
    dump_state,
    encode_value,
    load_state,
    register_entity,
)

__all__ = [
    "StateFormatError",
    "SqliteStore",
    "decode_value",
    "dump_state",
    "encode_value",
    "load_state",
    "register_entity",
]


def __getattr__(name: str):  # lazy: importing the codec must not import sqlite3 users' deps
    if name == "SqliteStore":
        from simulator.persistence.sqlite_store import SqliteStore

        return SqliteStore
    raise AttributeError(name)
