"""check-config on the web: section and the page templates (the binary, no server)."""

from harness import Stack, run_cli


def test_check_config_reports_web_mistakes_with_their_place(make_stack):
    s: Stack = make_stack(workers=1, start=False, transform=lambda t: t.replace(
        "  product_name: devicegate demo\n",
        "  product_name: devicegate demo\n  accent_color: \"#ffee00\"\n  logo_url: http://x.example/logo.png\n"))
    r = run_cli("check-config", "-c", s.config)
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.splitlines()
    assert any("web.accent_color" in line and "contrast" in line and f"{s.config}:" in line for line in lines), r.stderr
    assert any("web.logo_url" in line for line in lines), r.stderr


def test_check_config_reports_a_broken_template_with_line_and_column(make_stack):
    s: Stack = make_stack(workers=1, start=False)
    templates = s.root / "templates"
    templates.mkdir()
    (templates / "consent.mustache").write_text("{{> header}}\n<h1>{{#scopes}}unclosed</h1>\n")
    s.config.write_text(s.config.read_text().replace(
        "  product_name: devicegate demo\n", f"  product_name: devicegate demo\n  templates_dir: {templates}\n"))
    r = run_cli("check-config", "-c", s.config)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert f"{templates}/consent.mustache:" in r.stderr, r.stderr
    # A good override is listed.
    (templates / "consent.mustache").write_text("{{> header}}<h1>Custom</h1>{{> footer}}")
    r = run_cli("check-config", "-c", s.config)
    assert r.returncode == 0, r.stderr
    assert "overridden: consent" in r.stdout
