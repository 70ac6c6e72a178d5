"""Run one app under gunicorn with the exact options `infobutton serve` uses (bench helper).

python bench/_server.py bare|infobutton PORT WORKERS
"""

import sys

from flask import Flask, jsonify
from gunicorn.app.base import BaseApplication

from infobutton import create_app, metrics
from infobutton.cli import gunicorn_options
from infobutton.config import Settings
from infobutton.knowledge import TitleTable
from infobutton.services import build_services


def bare_app() -> Flask:
    app = Flask("bare")

    @app.get("/bare")
    def bare():
        return jsonify(status="ok")

    return app


def main() -> None:
    which, port, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    settings = Settings.from_env()
    titles = TitleTable(keep_fresh=True)  # built here, inherited by the workers, as under `serve`
    if which == "infobutton":
        services = build_services(settings, titles=titles)  # migrate, seed and precompute once, as `serve` does
        services.knowledge.precompute_titles()
        services.close()

    class Server(BaseApplication):
        def load_config(self):
            for key, value in gunicorn_options("127.0.0.1", port, workers, settings).items():
                self.cfg.set(key, value)
            self.cfg.set("accesslog", None)  # the same for both apps: measure the apps, not the log

        def load(self):
            if which != "infobutton":
                return bare_app()
            return create_app(settings, services=build_services(settings, titles=titles))

    with metrics.multiprocess_dir():  # as `serve` does: the workers' metrics in one directory
        Server().run()


if __name__ == "__main__":
    main()
