"""The sources of the fidelity corpus: what the documentation tools build from, the Django
admin's renderer, and the component pages (markup as each library documents its components).

Owns: text only (Markdown, reStructuredText, HTML, one Django script run in the cache's venv).
Must not: name any origin but the page's own; ``__THIRD_PARTY__`` stands for the second
loopback origin (the page server fills it in).
"""

from __future__ import annotations

PROSE = (
    "Co-browsing lets an agent see the page a visitor sees. This paragraph is long enough to "
    "wrap over several lines in every theme, so that line height, font metrics and the width "
    "of the content column all show in the screenshot."
)

MKDOCS = {
    "mkdocs.yml": """\
site_name: Acme Travel Docs
use_directory_urls: false
theme:
  name: material
  font: false  # no Google Fonts: nothing but loopback
  features: [navigation.tabs, navigation.sections, content.code.copy, content.tabs.link]
  palette:
    primary: indigo
nav:
  - Home: index.md
  - Reference: reference.md
markdown_extensions:
  - admonition
  - tables
  - attr_list
  - pymdownx.details
  - pymdownx.superfences
  - pymdownx.highlight
  - pymdownx.tabbed:
      alternate_style: true
  - pymdownx.tasklist
  - toc:
      permalink: true
""",
    "docs/index.md": f"""\
# Acme Travel Docs

{PROSE}

!!! note "Before you start"
    You need an account and an API key. Keys are shown once.

## Install

```python
import acme

client = acme.Client(key="...")
trips = client.trips.list(status="booked")
```

| Plan | Trips a month | Support |
| ---- | ------------- | ------- |
| Free | 10 | Forum |
| Team | 500 | E-mail |
| Enterprise | unlimited | 24/7 phone |

- [x] Create an account
- [x] Get a key
- [ ] Book a trip
""",
    "docs/reference.md": f"""\
# Reference

=== "Python"

    ```python
    client.trips.create(origin="LIS", destination="BER")
    ```

=== "Shell"

    ```sh
    curl -X POST /trips -d origin=LIS -d destination=BER
    ```

!!! warning
    {PROSE}

??? info "Rate limits"
    100 requests a minute per key.

## Trips

{PROSE}

### Fields

| Field | Type | Meaning |
| ----- | ---- | ------- |
| `id` | string | The trip's id |
| `origin` | IATA code | Where it starts |
| `status` | enum | `booked`, `cancelled` |
""",
}

SPHINX = {
    "conf.py": "project = 'Acme Travel'\nauthor = 'Acme'\nextensions = []\n"
    "html_static_path = []\nhtml_title = 'Acme Travel'\n",
    "index.rst": f"""\
Acme Travel
===========

{PROSE}

.. note::

   You need an account and an API key.

.. toctree::
   :maxdepth: 2

   api

Quick start
-----------

.. code-block:: python

   import acme
   client = acme.Client(key="...")

.. list-table:: Plans
   :header-rows: 1

   * - Plan
     - Trips a month
   * - Free
     - 10
   * - Team
     - 500
""",
    "api.rst": f"""\
API
===

{PROSE}

.. py:class:: Client(key, *, timeout=10.0)

   A connection to the Acme Travel API.

   :param str key: the API key
   :param float timeout: seconds to wait for an answer

   .. py:method:: trips.create(origin, destination)

      Book a trip.

      :returns: the new trip
      :rtype: Trip

.. warning::

   {PROSE}

.. py:function:: acme.price(origin, destination, *, currency="EUR")

   The price of a trip, in ``currency``.
""",
}

# Run with the cache's venv: python render_admin.py OUT. Renders the admin's pages with
# Django's own test client (signed in as a superuser) and collects its static files.
DJANGO_SCRIPT = """
import re
import sys
from pathlib import Path

import django
from django.conf import settings

out = Path(sys.argv[1])
settings.configure(
    DEBUG=False,
    SECRET_KEY="corpus-only",
    ALLOWED_HOSTS=["testserver"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=[
        "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
        "django.contrib.sessions", "django.contrib.messages", "django.contrib.staticfiles",
    ],
    MIDDLEWARE=[
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
    ],
    TEMPLATES=[{
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": [
            "django.template.context_processors.request",
            "django.contrib.auth.context_processors.auth",
            "django.contrib.messages.context_processors.messages",
        ]},
    }],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    STATIC_URL="/django/static/",
    STATIC_ROOT=str(out / "static"),
    USE_TZ=True,
)
django.setup()

from django.contrib import admin
from django.urls import path

urlpatterns = [path("admin/", admin.site.urls)]

from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.test import Client

call_command("migrate", verbosity=0)
call_command("collectstatic", interactive=False, verbosity=0)
root = User.objects.create_superuser("admin", "admin@acme.example", "corpus-only")
for name in ("Agents", "Supervisors", "Editors"):
    Group.objects.create(name=name)
for i, first in enumerate(["Ana", "Ben", "Chloe", "Dev", "Eva", "Femi", "Gus", "Hana"]):
    User.objects.create_user(f"{first.lower()}{i}", f"{first.lower()}@acme.example",
                             first_name=first, last_name="Silva", is_staff=i % 2 == 0)

client = Client()
pages = {"login.html": "/admin/login/"}
for name, url in pages.items():
    html = client.get(url).content.decode()
    (out / name).write_text(html)
client.force_login(root)
pages = {
    "index.html": "/admin/",
    "changelist.html": "/admin/auth/user/",
    "change.html": f"/admin/auth/user/{root.pk}/change/",
}
(out / "jsi18n.js").write_text(client.get("/admin/jsi18n/").content.decode())
for name, url in pages.items():
    html = client.get(url).content.decode()
    html = html.replace('"/admin/jsi18n/"', '"/django/jsi18n.js"')
    (out / name).write_text(html)
"""

_BOOTSTRAP = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Bootstrap components</title>
<link rel="stylesheet" href="/npm/bootstrap/dist/css/bootstrap.min.css">
</head><body>
<nav class="navbar navbar-expand-lg bg-body-tertiary"><div class="container-fluid">
<a class="navbar-brand" href="#">Acme</a>
<ul class="navbar-nav me-auto"><li class="nav-item"><a class="nav-link active" href="#">Home</a></li>
<li class="nav-item"><a class="nav-link" href="#">Trips</a></li>
<li class="nav-item dropdown"><a class="nav-link dropdown-toggle" href="#">More</a></li></ul>
<form class="d-flex"><input class="form-control me-2" type="search" placeholder="Search">
<button class="btn btn-outline-success" type="submit">Search</button></form></div></nav>
<main class="container py-3">
<nav aria-label="breadcrumb"><ol class="breadcrumb"><li class="breadcrumb-item"><a href="#">Home</a></li>
<li class="breadcrumb-item active">Components</li></ol></nav>
<div class="alert alert-primary">A simple primary alert. <a href="#" class="alert-link">A link</a>.</div>
<div class="alert alert-warning alert-dismissible">Holy guacamole! Check the fields below.
<button type="button" class="btn-close" aria-label="Close"></button></div>
<p><button class="btn btn-primary">Primary</button> <button class="btn btn-secondary">Secondary</button>
<button class="btn btn-success">Success</button> <button class="btn btn-outline-danger">Danger</button>
<span class="badge text-bg-info">New</span> <span class="badge rounded-pill text-bg-dark">42</span></p>
<div class="row g-3">
<div class="col-4"><div class="card"><div class="card-header">Featured</div><div class="card-body">
<h5 class="card-title">Lisbon weekend</h5><p class="card-text">Three nights by the river.</p>
<a href="#" class="btn btn-primary">Book</a></div></div></div>
<div class="col-4"><div class="card text-bg-dark"><div class="card-body"><h5 class="card-title">Berlin</h5>
<p class="card-text">Museums and clubs.</p></div><ul class="list-group list-group-flush">
<li class="list-group-item">Flights</li><li class="list-group-item">Hotel</li></ul></div></div>
<div class="col-4"><div class="accordion"><div class="accordion-item"><h2 class="accordion-header">
<button class="accordion-button" type="button">Accordion item #1</button></h2>
<div class="accordion-collapse collapse show"><div class="accordion-body">This is the first item's body.</div></div></div>
<div class="accordion-item"><h2 class="accordion-header"><button class="accordion-button collapsed" type="button">
Accordion item #2</button></h2></div></div></div></div>
<form class="row g-3 mt-2"><div class="col-md-6"><label class="form-label">Email</label>
<input type="email" class="form-control" value="ana@acme.example"></div>
<div class="col-md-6"><label class="form-label">Plan</label><select class="form-select"><option>Team</option></select></div>
<div class="col-12"><div class="form-check"><input class="form-check-input" type="checkbox" checked id="c1">
<label class="form-check-label" for="c1">Remember me</label></div>
<div class="form-check form-switch"><input class="form-check-input" type="checkbox" role="switch" id="s1" checked>
<label class="form-check-label" for="s1">Notifications</label></div></div>
<div class="col-12"><input type="range" class="form-range"></div></form>
<div class="progress my-3" role="progressbar"><div class="progress-bar progress-bar-striped" style="width: 62%">62%</div></div>
<table class="table table-striped table-hover"><thead><tr><th>#</th><th>Trip</th><th>Status</th></tr></thead>
<tbody><tr><td>1</td><td>LIS - BER</td><td><span class="badge text-bg-success">booked</span></td></tr>
<tr><td>2</td><td>BER - OSL</td><td><span class="badge text-bg-secondary">draft</span></td></tr></tbody></table>
<ul class="pagination"><li class="page-item disabled"><a class="page-link">Previous</a></li>
<li class="page-item active"><a class="page-link" href="#">1</a></li><li class="page-item"><a class="page-link" href="#">2</a></li></ul>
</main>
<script src="/npm/bootstrap/dist/js/bootstrap.bundle.min.js"></script>
</body></html>
"""

_BULMA = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Bulma components</title>
<link rel="stylesheet" href="/npm/bulma/css/bulma.min.css">
</head><body>
<nav class="navbar is-primary"><div class="navbar-brand"><a class="navbar-item" href="#"><strong>Acme</strong></a></div>
<div class="navbar-menu"><div class="navbar-start"><a class="navbar-item">Home</a><a class="navbar-item">Trips</a></div>
<div class="navbar-end"><div class="navbar-item"><div class="buttons"><a class="button is-light">Log in</a></div></div></div></div></nav>
<section class="hero is-info"><div class="hero-body"><p class="title">Trips made simple</p>
<p class="subtitle">Bulma's hero, as documented</p></div></section>
<section class="section"><div class="columns">
<div class="column"><div class="card"><header class="card-header"><p class="card-header-title">Lisbon</p></header>
<div class="card-content"><div class="content">Three nights by the river. <a href="#">Details</a>.</div></div>
<footer class="card-footer"><a href="#" class="card-footer-item">Save</a><a href="#" class="card-footer-item">Book</a></footer></div></div>
<div class="column"><article class="message is-warning"><div class="message-header"><p>Warning</p>
<button class="delete" aria-label="delete"></button></div><div class="message-body">Passports must be valid for six months.</div></article>
<div class="notification is-success">Your trip is booked.</div>
<div class="tags"><span class="tag is-link">Flights</span><span class="tag is-danger">Sold out</span><span class="tag">Hotel</span></div></div>
<div class="column"><div class="field"><label class="label">Name</label><div class="control">
<input class="input" type="text" value="Ana Silva"></div></div>
<div class="field"><label class="label">Plan</label><div class="control"><div class="select"><select><option>Team</option></select></div></div></div>
<div class="field"><label class="checkbox"><input type="checkbox" checked> I agree</label></div>
<div class="buttons"><button class="button is-primary">Submit</button><button class="button is-link is-light">Cancel</button></div></div>
</div>
<progress class="progress is-primary" value="62" max="100">62%</progress>
<table class="table is-striped is-fullwidth"><thead><tr><th>Trip</th><th>Status</th></tr></thead>
<tbody><tr><td>LIS - BER</td><td>booked</td></tr><tr><td>BER - OSL</td><td>draft</td></tr></tbody></table>
<nav class="pagination"><ul class="pagination-list"><li><a class="pagination-link is-current">1</a></li>
<li><a class="pagination-link">2</a></li></ul></nav>
<div class="tabs"><ul><li class="is-active"><a>Pictures</a></li><li><a>Music</a></li><li><a>Videos</a></li></ul></div>
</section></body></html>
"""

_SHOELACE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Shoelace components</title>
<link rel="stylesheet" href="/npm/@shoelace-style/shoelace/cdn/themes/light.css">
<script type="module" src="/npm/@shoelace-style/shoelace/cdn/shoelace-autoloader.js"></script>
<style>body{font-family:var(--sl-font-sans);margin:24px}.row{display:flex;gap:16px;margin:12px 0;align-items:center}</style>
</head><body>
<h1>Shoelace components</h1>
<div class="row"><sl-button variant="primary">Primary</sl-button><sl-button variant="success" outline>Outline</sl-button>
<sl-button variant="danger" pill>Pill</sl-button><sl-badge variant="warning">Warning</sl-badge></div>
<sl-alert variant="primary" open>This is a standard alert. You can customize its content and even the icon.</sl-alert>
<div class="row"><sl-input label="Name" value="Ana Silva" style="width:300px"></sl-input>
<sl-select label="Plan" value="team" style="width:200px"><sl-option value="team">Team</sl-option></sl-select></div>
<div class="row"><sl-checkbox checked>Remember me</sl-checkbox><sl-switch checked>Notifications</sl-switch>
<sl-radio-group label="Seat" value="w"><sl-radio value="w">Window</sl-radio><sl-radio value="a">Aisle</sl-radio></sl-radio-group></div>
<div class="row"><sl-card style="width:300px"><strong>Lisbon</strong><br>Three nights by the river.
<div slot="footer"><sl-rating value="4"></sl-rating></div></sl-card>
<sl-progress-ring value="62"></sl-progress-ring><sl-progress-bar value="40" style="width:200px"></sl-progress-bar></div>
<sl-tab-group><sl-tab slot="nav" panel="general">General</sl-tab><sl-tab slot="nav" panel="custom">Custom</sl-tab>
<sl-tab-panel name="general">This is the general tab panel.</sl-tab-panel><sl-tab-panel name="custom">Custom.</sl-tab-panel></sl-tab-group>
<sl-details summary="Toggle me" open>Details open.</sl-details>
</body></html>
"""

_IMPORT_MAP = """<script type="importmap">{"imports": {
"lit": "/npm/lit/index.js", "lit/": "/npm/lit/",
"lit-html": "/npm/lit-html/lit-html.js", "lit-html/": "/npm/lit-html/",
"lit-element/lit-element.js": "/npm/lit-element/lit-element.js", "lit-element/": "/npm/lit-element/",
"@lit/reactive-element": "/npm/@lit/reactive-element/reactive-element.js",
"@lit/reactive-element/": "/npm/@lit/reactive-element/",
"tslib": "/npm/tslib/tslib.es6.mjs", "@material/web/": "/npm/@material/web/"}}</script>"""

_LIT = (
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Lit components</title>
"""
    + _IMPORT_MAP
    + """
<style>body{font:16px/1.5 system-ui,sans-serif;margin:24px;background:#f6f7fb}</style>
<script type="module">
import {LitElement, html, css} from 'lit';
class TripCard extends LitElement {
  static properties = {city: {}, nights: {type: Number}, done: {type: Boolean}};
  static styles = css`
    :host{display:inline-block;width:260px;margin:8px;border-radius:12px;background:white;
      box-shadow:0 2px 8px rgba(0,0,0,.15);overflow:hidden}
    header{background:linear-gradient(90deg,#4f46e5,#06b6d4);color:white;padding:12px 16px;font-weight:700}
    .check{display:inline-block;width:16px;height:16px;vertical-align:middle;
      background:url("data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Ccircle cx='8' cy='8' r='8' fill='%2316a34a'/%3E%3C/svg%3E")}
    p{padding:0 16px}
    button{margin:0 16px 16px;border:0;border-radius:6px;background:#4f46e5;color:white;padding:6px 14px}`;
  render() {
    return html`<header>${this.city}</header><p>${this.nights} nights
      ${this.done ? html`<span class="check"></span> booked` : 'not booked'}</p>
      <button>Details</button>`;
  }
}
customElements.define('trip-card', TripCard);
class TripList extends LitElement {
  static styles = css`:host{display:block} h2{color:#4f46e5;font-weight:600}`;
  render() {
    return html`<h2>Your trips</h2><slot></slot>`;
  }
}
customElements.define('trip-list', TripList);
</script></head><body>
<h1>Lit components</h1>
<p>Two custom elements written with Lit, each with its styles in an adopted stylesheet.</p>
<trip-list>
<trip-card city="Lisbon" nights="3" done></trip-card><trip-card city="Berlin" nights="2"></trip-card>
<trip-card city="Oslo" nights="5" done></trip-card><trip-card city="Rome" nights="4"></trip-card>
</trip-list>
</body></html>
"""
)

_MATERIAL = (
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Material Web components</title>
"""
    + _IMPORT_MAP
    + """
<script type="module">import '@material/web/all.js';</script>
<style>body{font:16px/1.5 system-ui,sans-serif;margin:24px}.row{display:flex;gap:16px;margin:16px 0;align-items:center}</style>
</head><body>
<h1>Material Web components</h1>
<div class="row"><md-filled-button>Filled</md-filled-button><md-outlined-button>Outlined</md-outlined-button>
<md-text-button>Text</md-text-button><md-filled-tonal-button>Tonal</md-filled-tonal-button></div>
<div class="row"><md-checkbox checked touch-target="wrapper"></md-checkbox> Remember me
<md-switch selected></md-switch> Notifications <md-radio name="seat" checked></md-radio> Window
<md-radio name="seat"></md-radio> Aisle</div>
<div class="row"><md-filled-text-field label="Name" value="Ana Silva"></md-filled-text-field>
<md-outlined-text-field label="City" value="Lisbon"></md-outlined-text-field></div>
<div class="row"><md-slider value="40" style="width:300px"></md-slider>
<md-linear-progress value="0.62" style="width:300px"></md-linear-progress></div>
<md-chip-set><md-assist-chip label="Flights"></md-assist-chip><md-filter-chip label="Hotel" selected></md-filter-chip>
<md-input-chip label="Lisbon"></md-input-chip></md-chip-set>
<md-list style="max-width:400px"><md-list-item>Lisbon<div slot="supporting-text">3 nights</div></md-list-item>
<md-divider></md-divider><md-list-item>Berlin<div slot="supporting-text">2 nights</div></md-list-item></md-list>
</body></html>
"""
)

_EMBED = (
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Travel blog with an embed</title>
<style>
body{font:17px/1.6 Georgia,serif;margin:0;color:#222}
header{background:#0f172a;color:#fff;padding:16px 32px;font:700 20px system-ui,sans-serif}
article{max-width:900px;margin:24px auto;padding:0 24px}
.embed{position:relative;width:100%;aspect-ratio:16/9;background:#ddd;margin:16px 0}
.embed iframe{position:absolute;inset:0;width:100%;height:100%;border:0}
iframe.side{float:left;width:280px;height:200px;margin:0 20px 8px 0;border:1px solid #ccc}
</style></head><body>
<header>Acme Travel blog</header>
<article><h1>Three days in Lisbon</h1>
<p>Our favourite walk, on a map from a third-party widget served from another origin:</p>
<div class="embed"><iframe src="__THIRD_PARTY__/third-party/map.html" title="Map"></iframe></div>
<iframe class="side" src="__THIRD_PARTY__/third-party/weather.html" title="Weather"></iframe>
<p>"""
    + PROSE
    + " "
    + PROSE
    + """</p><p>"""
    + PROSE
    + """</p></article></body></html>
"""
)

_MAP = """<!doctype html>
<html><head><meta charset="utf-8"><style>
html,body{margin:0;height:100%;font:14px system-ui,sans-serif}
body{background:linear-gradient(135deg,#bae6fd 0%,#bbf7d0 60%,#fef08a 100%)}
.road{position:absolute;left:0;right:0;top:45%;height:14px;background:#fff;transform:rotate(-8deg)}
.pin{position:absolute;left:40%;top:30%;width:28px;height:28px;border-radius:50% 50% 50% 0;
background:#dc2626;transform:rotate(-45deg)}
.label{position:absolute;left:12px;bottom:12px;background:#fff;padding:6px 10px;border-radius:6px}
</style></head><body><div class="road"></div><div class="pin"></div>
<div class="label">Map widget (third party)</div></body></html>
"""

_WEATHER = """<!doctype html>
<html><head><meta charset="utf-8"><style>
body{margin:0;padding:16px;font:16px system-ui,sans-serif;background:#1e3a8a;color:#fff}
.t{font-size:48px;font-weight:700}</style></head>
<body><div>Lisbon, today</div><div class="t">24&deg;C</div><div>Sunny, light wind</div></body></html>
"""

_FONTS = (
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Brand page with web fonts</title>
<link rel="stylesheet" href="/npm/@fontsource/inter/400.css">
<link rel="stylesheet" href="/npm/@fontsource/inter/700.css">
<link rel="stylesheet" href="/npm/@fontsource/merriweather/400.css">
<link rel="stylesheet" href="/npm/@fontsource/merriweather/700.css">
<link rel="stylesheet" href="/npm/bootstrap-icons/font/bootstrap-icons.min.css">
<style>
body{margin:0;font:18px/1.6 Inter,sans-serif;color:#1f2937}
.hero{background:#111827;color:#fff;padding:56px 48px}
.hero h1{font:700 52px/1.1 Merriweather,serif;margin:0 0 16px}
.features{display:grid;grid-template-columns:repeat(3,1fr);gap:24px;padding:40px 48px}
.features i{font-size:40px;color:#4f46e5}
h2{font:700 24px Merriweather,serif}
.quote{font:italic 400 22px Merriweather,serif;padding:0 48px}
</style></head><body>
<section class="hero"><h1>Travel, without the paperwork</h1>
<p>Set in Inter and Merriweather, served from the brand's own origin.</p></section>
<section class="features">
<div><i class="bi bi-airplane"></i><h2>Flights</h2><p>"""
    + PROSE[:120]
    + """</p></div>
<div><i class="bi bi-building"></i><h2>Hotels</h2><p>"""
    + PROSE[:120]
    + """</p></div>
<div><i class="bi bi-headset"></i><h2>Support</h2><p>"""
    + PROSE[:120]
    + """</p></div></section>
<p class="quote">"The best trip we never had to plan." <i class="bi bi-star-fill"></i><i class="bi bi-star-fill"></i></p>
</body></html>
"""
)

COMPONENT_PAGES = {
    "components/bootstrap.html": _BOOTSTRAP,
    "components/bulma.html": _BULMA,
    "components/shoelace.html": _SHOELACE,
    "components/lit.html": _LIT,
    "components/material.html": _MATERIAL,
    "components/embed.html": _EMBED,
    "components/fonts.html": _FONTS,
    "third-party/map.html": _MAP,
    "third-party/weather.html": _WEATHER,
}

# The smoke run's pages: nothing but their own inline CSS (no package, no registry).
SMOKE_PAGES = {
    "smoke/article.html": """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Smoke article</title>
<style>body{font:16px/1.5 sans-serif;margin:32px;color:#222}h1{color:#1d4ed8}
.box{display:inline-block;width:120px;height:80px;margin:8px;background:#f97316}
table{border-collapse:collapse}td{border:1px solid #999;padding:4px 12px}</style></head><body>
<h1>Smoke article</h1><p>"""
    + PROSE
    + """</p><div class="box"></div><div class="box" style="background:#16a34a"></div>
<table><tr><td>one</td><td>two</td></tr><tr><td>three</td><td>four</td></tr></table>
</body></html>
""",
    "smoke/form.html": """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Smoke form</title>
<style>body{font:16px sans-serif;margin:32px;background:#f1f5f9}form{background:#fff;padding:24px;
width:420px;border-radius:8px;box-shadow:0 1px 4px #0003}label{display:block;margin:8px 0}
button{background:#4f46e5;color:#fff;border:0;padding:8px 16px;border-radius:4px}</style></head><body>
<form><h2>Book a trip</h2><label>From <input value="Lisbon"></label><label>To <input value="Berlin"></label>
<label><input type="checkbox" checked> Return</label><button type="button">Search</button></form>
</body></html>
""",
}
