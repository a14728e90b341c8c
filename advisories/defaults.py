"""The feeds an MSP normally syncs, with their public URLs (created by `manage.py setup_feeds`)."""

from __future__ import annotations

DEFAULT_FEEDS = [
    # (name, kind, url, interval in minutes)
    ("CISA KEV", "kev", "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json", 360),
    ("FIRST EPSS", "epss", "https://epss.empiricalsecurity.com/epss_scores-current.csv.gz", 1440),
    ("NVD CVE API 2.0", "nvd", "https://services.nvd.nist.gov/rest/json/cves/2.0", 240),
    ("OSV Debian", "osv", "https://osv-vulnerabilities.storage.googleapis.com/Debian/all.zip", 360),
    ("OSV Ubuntu", "osv", "https://osv-vulnerabilities.storage.googleapis.com/Ubuntu/all.zip", 360),
    ("OSV Alpine", "osv", "https://osv-vulnerabilities.storage.googleapis.com/Alpine/all.zip", 720),
    ("Debian security tracker", "debian-tracker", "https://security-tracker.debian.org/tracker/data/json", 360),
    ("Microsoft security updates", "msrc", "https://api.msrc.microsoft.com/cvrf/v3.0/updates", 720),
    ("Red Hat CSAF", "csaf", "https://security.access.redhat.com/data/csaf/v2/advisories/changes.csv", 360),
]
