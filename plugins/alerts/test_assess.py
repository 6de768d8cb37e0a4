"""Unit tests of the alerts check's judgement: python3 -m unittest discover -s plugins/alerts"""
import unittest

from assess import Answer, assess


def alert(name, severity=None, state="firing", summary=None, **labels):
    labels = {"alertname": name, **labels}
    if severity:
        labels["severity"] = severity
    annotations = {"summary": summary} if summary else {}
    return {"labels": labels, "annotations": annotations, "state": state,
            "activeAt": "2026-12-06T10:00:00Z", "value": "1e+00"}


class Assess(unittest.TestCase):
    def test_nothing_firing_but_the_watchdog_is_ok(self):
        j = assess([Answer("http://p", [alert("Watchdog", "none")])], {})
        self.assertEqual(j.status, "ok")
        self.assertEqual(j.summary, "no alerts firing (1 ignored)")
        self.assertEqual(j.findings, [])
        self.assertIn(("ignored", "Alerts firing that the check ignores by name", 1, {}), j.samples)

    def test_severity_decides_and_the_worst_comes_first(self):
        j = assess([Answer("http://p", [
            alert("CertExpiring", "warning", summary="cert expires in 5 days", namespace="web"),
            alert("DiskFull", "critical", summary="disk 97% full", instance="n1"),
            alert("Info", "info"),
            alert("NoSeverity"),
        ])], {})
        self.assertEqual(j.status, "critical")
        self.assertEqual(j.findings[0][:2], ('DiskFull{instance="n1"}', "critical"))
        self.assertIn("disk 97% full", j.findings[0][2])
        self.assertEqual([f[1] for f in j.findings], ["critical", "warning", "warning", "ok"])
        self.assertTrue(j.summary.startswith("4 alerts firing (1 critical, "), j.summary)
        self.assertIn('worst: DiskFull{instance="n1"}', j.summary)

    def test_pending_alerts_count_only_when_asked(self):
        answers = [Answer("http://p", [alert("Slow", "critical", state="pending")])]
        self.assertEqual(assess(answers, {}).status, "ok")
        self.assertEqual(assess(answers, {"include_pending": True}).status, "critical")

    def test_ignore_list_and_severity_map_from_params(self):
        answers = [Answer("http://p", [alert("Flaky", "critical"), alert("Page", "page")])]
        j = assess(answers, {"ignore": ["Flaky"], "severities": {"page": "critical"}})
        self.assertEqual(j.status, "critical")
        self.assertEqual([f[0] for f in j.findings], ["Page"])
        with self.assertRaises(ValueError):
            assess(answers, {"severities": {"page": "red"}})

    def test_an_ha_pair_reports_each_alert_once(self):
        same = alert("DiskFull", "critical", instance="n1")
        j = assess([Answer("http://a", [same]), Answer("http://b", [dict(same)])], {})
        self.assertEqual(len(j.findings), 1)

    def test_one_server_down_warns_all_down_is_critical(self):
        up = Answer("http://a", [])
        down = Answer("http://b", error="connection refused", unreachable=True)
        j = assess([up, down], {})
        self.assertEqual(j.status, "warning")
        self.assertIn("not read: http://b", j.summary)
        j = assess([down], {})
        self.assertEqual(j.status, "critical")
        self.assertIn("no Prometheus reachable", j.summary)
        j = assess([Answer("http://c", error="TLS handshake failed")], {})
        self.assertEqual(j.status, "unknown")


if __name__ == "__main__":
    unittest.main()
