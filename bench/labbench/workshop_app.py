"""The workshop's own PetAdoptionsHistory, re-created for comparison: Flask's development server
(threaded, as `flask run` and app.run serve), one module-level psycopg 3 connection shared by
every request (no pool, no rollback), rows as arrays with RFC-822 dates, no instrumentation.
Not the lab's service: only the bench runs it, with the workshop's pins in a venv of their own
(labbench/workshop.py), so it imports nothing from the lab.

    DB_HOST=... DB_PORT=... PORT=... <workshop venv>/bin/python -I workshop_app.py
"""
import os

import psycopg
from flask import Flask, jsonify

app = Flask(__name__)
conn = psycopg.connect(
    host=os.environ.get("DB_HOST", "localhost"), port=os.environ.get("DB_PORT", "5432"),
    dbname=os.environ.get("DB_NAME", "adoptions"), user=os.environ.get("DB_USER", "postgres"),
    password=os.environ.get("DB_PASSWORD", ""),
)


@app.route("/petadoptionshistory/api/home/transactions", methods=["GET"])
def transactions_get():
    cur = conn.cursor()
    cur.execute("SELECT * FROM transactions_history")
    rows = cur.fetchall()
    conn.commit()
    return jsonify(rows)


@app.route("/petadoptionshistory/api/home/transactions", methods=["DELETE"])
def transactions_delete():
    cur = conn.cursor()
    cur.execute("DELETE FROM transactions_history")
    conn.commit()
    return jsonify({"success": True})


@app.route("/health/status")
def health_status():
    cur = conn.cursor()
    cur.execute("SELECT NULL")
    return jsonify({"status": "ok"})


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(os.environ.get("PORT", "8080")), threaded=True)
