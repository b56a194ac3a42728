"""The composition root: settings, engine and session factory, built once per process."""

from __future__ import annotations

from dataclasses import dataclass

import requests
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from plugin.db import make_engine, make_session_factory
from plugin.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    http: requests.Session

    def close(self) -> None:
        self.http.close()
        self.engine.dispose()


def build_runtime(settings: Settings) -> Runtime:
    engine = make_engine(settings.database_url)
    http = requests.Session()
    http.headers["User-Agent"] = "shop-segments"
    return Runtime(settings, engine, make_session_factory(engine), http)
