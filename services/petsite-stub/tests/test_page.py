"""The page a person uses: rows from pethistory, and buttons that adopt, move and clear."""
from conftest import seed_history


def test_page_lists_history_rows_from_pethistory(client, sql):
    seed_history(sql, 3)
    response = client.get("/")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert html.count('<tr class="adoption">') == 3
    assert "seed000" in html and "tx-seed-2" in html and "2026-01-02" in html
    assert "3 adoptions in the history." in html
    assert "<script src" not in html and "<link" not in html  # no external assets


def test_empty_history_says_so(client):
    html = client.get("/").get_data(as_text=True)
    assert "No adoptions in the history." in html and "0 adoptions" in html


def test_clear_button_clears_the_history_through_pethistory(client, sql):
    seed_history(sql, 4)
    response = client.post("/ui/clear")
    assert response.status_code == 303 and response.headers["Location"].endswith("/?done=cleared")
    assert sql("SELECT count(*) FROM transactions_history") == [(0,)]
    html = client.get("/?done=cleared").get_data(as_text=True)
    assert "The adoption history was cleared." in html and '<tr class="adoption">' not in html


def test_adopt_then_housekeeping_buttons_put_a_row_on_the_page(client, sql):
    assert client.post("/ui/adopt").status_code == 303
    assert sql("SELECT count(*) FROM transactions") == [(1,)]
    assert client.post("/ui/housekeeping").status_code == 303
    html = client.get("/").get_data(as_text=True)
    assert html.count('<tr class="adoption">') == 1


def test_row_values_are_escaped(client, sql):
    sql("INSERT INTO transactions_history (pet_id, adoption_date, transaction_id) VALUES (%s, now(), %s)",
        ("<b>rex</b>", "<script>alert(1)</script>"))
    html = client.get("/").get_data(as_text=True)
    assert "&lt;b&gt;rex&lt;/b&gt;" in html and "<script>alert" not in html


def test_unknown_notice_is_ignored(client):
    html = client.get("/?done=<script>").get_data(as_text=True)
    assert "<script>" not in html and 'class="notice"' not in html
