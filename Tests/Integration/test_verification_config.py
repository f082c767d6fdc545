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
    # A consent page without the flow binding (issue 10, item 7) is refused, saying what to add.
    (templates / "consent.mustache").write_text("{{> header}}<h1>Custom</h1>{{> footer}}")
    r = run_cli("check-config", "-c", s.config)
    assert r.returncode == 2 and "{{flow_binding}}" in r.stderr, (r.stdout, r.stderr)
    # A good override is listed.
    (templates / "consent.mustache").write_text(
        "{{> header}}<h1>Custom</h1><input type=\"hidden\" name=\"flow\" value=\"{{flow_binding}}\">{{> footer}}")
    r = run_cli("check-config", "-c", s.config)
    assert r.returncode == 0, r.stderr
    assert "overridden: consent" in r.stdout


def test_users_add_prompts_twice_on_a_terminal(tmp_path):
    """On a terminal `devicegate users add` asks twice, without echo, and refuses a mismatch."""
    import os
    import pty
    import subprocess
    import time

    from harness import DEVICEGATE_BIN, clean_env

    users = tmp_path / "htpasswd"

    def run(first, second):
        master, slave = pty.openpty()
        proc = subprocess.Popen([DEVICEGATE_BIN, "users", "add", "gina", "--file", str(users)],
                                stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env())
        os.close(slave)
        time.sleep(0.3)
        os.write(master, (first + "\n").encode())
        time.sleep(0.3)
        os.write(master, (second + "\n").encode())
        out, err = proc.communicate(timeout=20)
        os.close(master)
        return proc.returncode, out.decode(), err.decode()

    code, out, err = run("terminal pw", "terminal pw")
    assert code == 0 and "added gina" in out, err
    assert "Password for gina:" in err and "Again:" in err
    assert "terminal pw" not in out + err
    assert users.read_text().startswith("gina:$y$")
    code, out, err = run("one", "two")
    assert code == 1 and "do not match" in err
    assert users.read_text().count("gina:") == 1


def test_check_config_reports_every_message_file_problem_and_lists_the_languages(make_stack):
    s: Stack = make_stack(workers=1, start=False)
    templates = s.root / "templates"
    templates.mkdir()
    s.config.write_text(s.config.read_text().replace(
        "  product_name: devicegate demo\n", f"  product_name: devicegate demo\n  templates_dir: {templates}\n"))
    # `devicegate templates` writes every built-in language's messages: a start for a new one.
    out = s.root / "out"
    r = run_cli("templates", "--output", out)
    assert r.returncode == 0 and (out / "en.messages").exists(), r.stderr
    english = (out / "en.messages").read_text()
    (templates / "pt-br.messages").write_text(english.replace("language_name = English", "language_name = Português (Brasil)"))
    r = run_cli("check-config", "-c", s.config)
    assert r.returncode == 0, r.stderr
    assert "pt-br" in r.stdout and "default_language en" in r.stdout, r.stdout
    (templates / "en.messages").write_text("enter_titel = Typo\nconsent_lead = {someone} wants in\n")
    (templates / "fr-ca.messages").write_text("language_name = Français\n\nno equals sign here\n")
    r = run_cli("check-config", "-c", s.config)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert f"{templates}/en.messages: `enter_titel` is not a message key" in r.stderr, r.stderr
    assert f"{templates}/en.messages: `consent_lead` has placeholders {{someone}}" in r.stderr, r.stderr
    assert f"{templates}/fr-ca.messages:3: expected `key = text`" in r.stderr, r.stderr
    (templates / "en.messages").unlink()
    (templates / "fr-ca.messages").write_text("language_name = Français\n")
    r = run_cli("check-config", "-c", s.config)
    assert r.returncode == 2 and f"{templates}/fr-ca.messages: missing `" in r.stderr, r.stderr
