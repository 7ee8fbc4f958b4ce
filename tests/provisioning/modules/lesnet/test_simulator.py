"""The LesNet simulator itself: one text file per account and day, basic auth when set, deterministic rows."""
import requests

from provisioning.modules.lesnet.simulator import LesNetSimulator

def test_lesnet_serves_text_files_per_day_with_knobs(lesnet):
    response = requests.get(lesnet.url_for("11330"), timeout=5)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/plain")
    lines = response.text.splitlines()
    assert len(lines) == 12 and all(len(line.split(",")) == 4 for line in lines)
    assert requests.get(lesnet.url_for("11330"), timeout=5).text == response.text  # same day, same file
    assert requests.get(lesnet.url_for("99999"), timeout=5).status_code == 404
    lesnet.set_knobs({"delimiter": ";", "header": True, "malformed": 1})
    text = requests.get(lesnet.url_for("11330"), timeout=5).text
    assert text.startswith("Date;Source;Destination;Seconds\n") and "this is not a call record" in text
    lesnet.set_knobs({"basic_auth": ["u", "p"]})
    assert requests.get(lesnet.url_for("11330"), timeout=5).status_code == 401
    assert requests.get(lesnet.url_for("11330"), auth=("u", "p"), timeout=5).status_code == 200
    other = LesNetSimulator()
    other.add_peer("11330", "D4E3CD2BFC791", ["12046664021"])
    assert other.rows(other.peers["11330_0000.txt"]) == lesnet.rows(lesnet.peers["11330_0000.txt"])
