"""The page a person uses: the adoption history (read from pethistory) and three buttons.

Plain HTML forms (POST, then a 303 back to `/`), so it works without JavaScript and a reload never
repeats an action. When pethistory or the database fails, the page still renders, with the reason
and the status PetSite would answer in JSON.
"""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for

from petsite import adoptions
from petsite.db import DatabaseUnavailable
from petsite.history import HistoryUnavailable
from petsite.routes import record, services

bp = Blueprint("pages", __name__)

NOTICES = {
    "adopted": "A pet was adopted. Run housekeeping to move it into the history.",
    "housekeeping": "Housekeeping moved the adoptions into the history.",
    "cleared": "The adoption history was cleared.",
}


@bp.get("/")
def home():
    rows, error, status = [], None, 200
    try:
        rows = services().history.rows()
    except HistoryUnavailable as failure:
        error, status = failure.message, failure.status
    notice = NOTICES.get(request.args.get("done", ""))
    return render_template("index.html", rows=rows, error=error, notice=notice), status


def _act(action, done: str):
    try:
        action()
    except HistoryUnavailable as failure:
        return render_template("index.html", rows=[], error=failure.message, notice=None), failure.status
    except DatabaseUnavailable as failure:
        return render_template("index.html", rows=[], error=f"database unavailable: {failure}", notice=None), 503
    return redirect(url_for("pages.home", done=done), code=303)


@bp.post("/ui/adopt")
def ui_adopt():
    return _act(lambda: record(adoptions.new_adoption()), "adopted")


@bp.post("/ui/housekeeping")
def ui_housekeeping():
    return _act(lambda: adoptions.housekeeping(services().database), "housekeeping")


@bp.post("/ui/clear")
def ui_clear():
    return _act(lambda: services().history.clear(), "cleared")
