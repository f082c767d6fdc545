/// The built-in templates (Mustache). `devicegate templates --output DIR` writes them out; an
/// operator edits copies in `web.templates_dir`, and any file there replaces the one of the same
/// name. Every value arrives escaped by `HTMLEscaping.escape` (UTF-8 bytes, not grapheme
/// clusters), so `{{value}}` and `{{{value}}}` write the same text; attribute values are quoted.
///
/// Every text is a message of the visitor's language (`Messages+en.swift`): `{{t.key}}` for a
/// plain one, and a value such as `lead` for one with placeholders, filled in and escaped
/// piece by piece by the page code (`MessageCatalog.markup`). Every page has `lang`, `dir`
/// and `languages` (the switcher: `tag`, `name`, `dir`, `url`, `current`).
///
/// The pages of a web app's sign-in (the authorization code flow, issue 13):
/// - `authorize_signin`: sign-in for an authorization request. Values: `client_name`,
///   `username` (from `login_hint`), `error`, `action`, `authorization_request` (the sealed
///   request, a hidden field every form must carry back), `csrf_token`.
/// - `authorize_consent`: Approve/Deny. Values: `client_name`, `return_host` (where the browser
///   goes next), `scopes` (`name`, `description`), `action`, `authorization_request`,
///   `csrf_token`, `signed_in_as`.
/// - `signed_out`: RP-initiated logout without a registered return address. Values: `heading`,
///   `text`.
/// - `sign_in_fields`: the credential fields both sign-in pages include.
public enum DefaultTemplates {
    public static let all: [(name: String, text: String)] = [
        ("header", header), ("footer", footer), ("enter", enter), ("signin", signin),
        ("consent", consent), ("done", done), ("message", message), ("style.css", style + devicesStyle),
        ("authorize_signin", authorizeSignIn), ("authorize_consent", authorizeConsent), ("signed_out", signedOut),
        ("sign_in_fields", signInFields), ("who_is_asking", whoIsAsking), ("devices", devices),
    ]

    /// The templates included by others (`{{> name}}`), never rendered as a page.
    public static let partials: Set<String> = ["header", "footer", "sign_in_fields", "who_is_asking"]

    /// A page's built-in text followed by every partial's: everything that page can render,
    /// for tests that list its fields.
    public static func textWithPartials(_ page: String) -> String {
        let texts = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0.text) })
        return (texts[page] ?? "") + partials.sorted().map { texts[$0] ?? "" }.joined()
    }

    /// The username and password fields and the submit button, inside the form of both
    /// sign-in pages (`signin`, `authorize_signin`). Values: `username`.
    static let signInFields = """
    <label for="username">{{t.signin_username}}</label>
    <input id="username" name="username" type="text" value="{{username}}" required autofocus
           autocomplete="username" autocapitalize="none" autocorrect="off" spellcheck="false" maxlength="64">
    <label for="password">{{t.signin_password}}</label>
    <input id="password" name="password" type="password" required autocomplete="current-password" maxlength="1024">
    <button type="submit" class="primary">{{t.signin_submit}}</button>
    """

    static let authorizeSignIn = """
    {{> header}}
    <h1>{{t.signin_title}}</h1>
    <p class="lead">{{lead}}</p>
    {{#error}}<p class="alert" role="alert">{{error}}</p>{{/error}}
    <form method="post" action="{{action}}" class="stack">
      <input type="hidden" name="csrf_token" value="{{csrf_token}}">
      <input type="hidden" name="request" value="{{authorization_request}}">
      {{> sign_in_fields}}
    </form>
    {{> footer}}
    """

    static let authorizeConsent = """
    {{> header}}
    <h1>{{t.consent_title}}</h1>
    <p class="lead">{{lead}}</p>
    <p>{{return_note}}</p>
    <h2>{{t.consent_abilities}}</h2>
    <ul class="scopes">
    {{#scopes}}
      <li><span class="scope-text">{{description}}</span> <code class="scope-name">{{name}}</code></li>
    {{/scopes}}
    {{^scopes}}
      <li><span class="scope-text">{{t.authorize_no_scopes}}</span></li>
    {{/scopes}}
    </ul>
    <div class="warning" role="note">
      {{warning}}
    </div>
    <form method="post" action="{{action}}" class="buttons">
      <input type="hidden" name="csrf_token" value="{{csrf_token}}">
      <input type="hidden" name="request" value="{{authorization_request}}">
      <button type="submit" name="action" value="approve" class="primary">{{t.consent_approve}}</button>
      <button type="submit" name="action" value="deny" class="secondary">{{t.consent_deny}}</button>
    </form>
    <p class="hint">{{signed_in_note}}</p>
    {{> footer}}
    """

    static let signedOut = """
    {{> header}}
    <h1>{{heading}}</h1>
    <p class="lead">{{text}}</p>
    <p class="hint">{{t.signed_out_hint}}</p>
    {{> footer}}
    """

    static let header = """
    <!doctype html>
    <html lang="{{lang}}" dir="{{dir}}">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <meta name="referrer" content="no-referrer">
    <title>{{title}} · {{product_name}}</title>
    <link rel="stylesheet" href="{{css_url}}">
    </head>
    <body>
    <header class="bar">
      <span class="brand">{{#logo_url}}<img class="logo" src="{{logo_url}}" alt="">{{/logo_url}}<span>{{product_name}}</span></span>
      {{#signed_in_as}}
      <span class="who">
        <span class="who-name" title="{{t.header_signed_in}}">{{signed_in_as}}</span>
        <a class="link" href="{{devices_url}}">{{t.devices_link}}</a>
        {{#signout_action}}
        <form method="post" action="{{signout_action}}" class="inline">
          <input type="hidden" name="csrf_token" value="{{csrf_token}}">
          <button type="submit" class="link">{{t.header_sign_out}}</button>
        </form>
        {{/signout_action}}
      </span>
      {{/signed_in_as}}
    </header>
    <main class="card">

    """

    static let footer = """
    </main>
    <footer class="foot">
      <p>{{product_name}} · {{t.footer_tagline}}</p>
      <nav class="languages" aria-label="{{t.language_switcher}}"><ul>
      {{#languages}}
        <li><a href="{{url}}" lang="{{tag}}" hreflang="{{tag}}" dir="{{dir}}" aria-current="{{current}}">{{name}}</a></li>
      {{/languages}}
      </ul></nav>
    </footer>
    </body>
    </html>

    """

    static let enter = """
    {{> header}}
    <h1>{{t.enter_title}}</h1>
    <p class="lead">{{t.enter_lead}}</p>
    {{#error}}<p class="alert" role="alert">{{error}}</p>{{/error}}
    <form method="post" action="{{action}}" class="stack">
      <input type="hidden" name="csrf_token" value="{{csrf_token}}">
      <label for="user_code">{{t.enter_code_label}}</label>
      <input id="user_code" name="user_code" class="code" type="text" dir="ltr" value="{{user_code}}"
             placeholder="{{placeholder}}" maxlength="40" inputmode="{{inputmode}}" required autofocus
             autocomplete="off" autocapitalize="characters" autocorrect="off" spellcheck="false">
      {{#prefilled}}<p class="hint">{{t.enter_prefilled_hint}}</p>{{/prefilled}}
      <button type="submit" class="primary">{{t.enter_continue}}</button>
    </form>
    {{> footer}}
    """

    static let signin = """
    {{> header}}
    <h1>{{t.signin_title}}</h1>
    <p class="lead">{{#lead}}{{lead}}{{/lead}}{{^lead}}{{t.signin_lead}}{{/lead}}</p>
    {{#user_code}}<p class="code-shown" dir="ltr" aria-label="{{t.device_code_label}}">{{user_code}}</p>{{/user_code}}
    {{#error}}<p class="alert" role="alert">{{error}}</p>{{/error}}
    <form method="post" action="{{action}}" class="stack">
      <input type="hidden" name="csrf_token" value="{{csrf_token}}">
      <input type="hidden" name="user_code" value="{{user_code}}">
      {{> sign_in_fields}}
    </form>
    {{> footer}}
    """

    static let consent = """
    {{> header}}
    <h1>{{t.consent_title}}</h1>
    <p class="lead">{{lead}}</p>
    <p class="code-shown" dir="ltr" aria-label="{{t.device_code_label}}">{{user_code}}</p>
    <p class="hint center">{{t.consent_code_hint}}</p>
    <h2>{{t.consent_abilities}}</h2>
    <ul class="scopes">
    {{#scopes}}
      <li><span class="scope-text">{{description}}</span> <code class="scope-name">{{name}}</code></li>
    {{/scopes}}
    {{^scopes}}
      <li><span class="scope-text">{{t.consent_no_scopes}}</span></li>
    {{/scopes}}
    </ul>
    {{> who_is_asking}}
    <div class="warning" role="note">
      {{warning}}
      {{t.consent_warning_more}}
    </div>
    <form method="post" action="{{action}}" class="buttons">
      <input type="hidden" name="csrf_token" value="{{csrf_token}}">
      <input type="hidden" name="user_code" value="{{user_code}}">
      <input type="hidden" name="flow" value="{{flow_binding}}">
      <button type="submit" name="action" value="approve" class="primary">{{t.consent_approve}}</button>
      <button type="submit" name="action" value="deny" class="secondary">{{t.consent_deny}}</button>
    </form>
    <p class="hint">{{signed_in_note}}</p>
    {{> footer}}
    """

    static let done = """
    {{> header}}
    {{#approved}}
    <div class="result ok" aria-hidden="true">✓</div>
    <h1>{{t.done_approved_title}}</h1>
    <p class="lead">{{lead}}</p>
    {{/approved}}
    {{^approved}}
    <div class="result no" aria-hidden="true">✕</div>
    <h1>{{t.done_denied_title}}</h1>
    <p class="lead">{{lead}}</p>
    {{/approved}}
    <p>{{t.done_back}}</p>
    <p><a class="text-link" href="{{enter_url}}">{{t.done_another}}</a></p>
    {{> footer}}
    """

    static let message = """
    {{> header}}
    <h1>{{heading}}</h1>
    <p class="lead">{{text}}</p>
    {{#detail}}<p class="hint">{{detail}}</p>{{/detail}}
    <p><a class="text-link" href="{{enter_url}}">{{t.message_back}}</a></p>
    {{> footer}}
    """

    static let style = """
    /* devicegate verification page. Mobile first; no scripts, no inline styles (CSP style-src 'self').
       Logical properties only (inline/block, start/end), so dir="rtl" mirrors the layout. */
    :root {
      --accent: {{accent}};
      --accent-text: {{accent_text}};
      --ink: #16181d;
      --muted: #4a5160;
      --line: #d5d9e0;
      --bg: #f3f5f8;
      --card: #ffffff;
      --danger: #a3161f;
      --warn-bg: #fff5d6;
      --warn-line: #b58100;
    }
    * { box-sizing: border-box; }
    html { -webkit-text-size-adjust: 100%; }
    body {
      margin: 0; min-height: 100vh; background: var(--bg); color: var(--ink);
      font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", sans-serif;
      display: flex; flex-direction: column; align-items: center;
    }
    .bar {
      width: 100%; display: flex; align-items: center; justify-content: space-between; gap: 12px;
      padding-block: 12px; padding-inline: 16px; background: var(--card); border-block-end: 1px solid var(--line);
    }
    .brand { display: flex; align-items: center; gap: 10px; font-weight: 650; font-size: 1.05rem; min-width: 0; }
    .brand span { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; unicode-bidi: plaintext; }
    .logo { height: 28px; width: auto; max-width: 120px; }
    .who { display: flex; align-items: center; gap: 10px; color: var(--muted); font-size: .92rem; min-width: 0; }
    .who-name { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; max-width: 40vw; unicode-bidi: plaintext; }
    .inline { display: inline; margin: 0; }
    .card {
      width: 100%; max-width: 30rem; background: var(--card); padding: 24px 20px 28px;
      margin: 0; border-block-end: 1px solid var(--line);
    }
    h1 { font-size: 1.6rem; line-height: 1.25; margin-block: 0 8px; margin-inline: 0; }
    h2 { font-size: 1rem; margin-block: 24px 8px; margin-inline: 0; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
    .lead { font-size: 1.08rem; margin-block: 0 20px; margin-inline: 0; color: var(--ink); }
    .hint { color: var(--muted); font-size: .95rem; margin-block: 8px 0; margin-inline: 0; }
    .center { text-align: center; }
    .stack { display: flex; flex-direction: column; gap: 8px; }
    label { font-weight: 600; margin-block-start: 8px; }
    input[type=text], input[type=password] {
      width: 100%; font: inherit; font-size: 1.1rem; padding: 12px 14px; min-height: 48px;
      border: 2px solid var(--line); border-radius: 10px; background: #fff; color: var(--ink);
    }
    input.code {
      font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace;
      font-size: 1.9rem; letter-spacing: .18em; text-align: center; text-transform: uppercase; padding: 14px 8px;
    }
    input::placeholder { color: #8a909c; letter-spacing: .12em; }
    input:focus, button:focus-visible, a:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; border-color: var(--accent); }
    button { font: inherit; cursor: pointer; }
    .primary, .secondary {
      width: 100%; min-height: 52px; padding: 12px 18px; border-radius: 10px; font-size: 1.08rem; font-weight: 650;
      margin-block-start: 16px;
    }
    .primary { background: var(--accent); color: var(--accent-text); border: 2px solid var(--accent); }
    .secondary { background: #fff; color: var(--ink); border: 2px solid var(--ink); }
    .primary:hover { filter: brightness(1.08); }
    .secondary:hover { background: #eef0f4; }
    .buttons { display: flex; flex-direction: column; gap: 0; }
    .link { background: none; border: 0; padding: 4px 2px; color: var(--accent); text-decoration: underline; font-size: .92rem; }
    .text-link { color: var(--accent); font-weight: 600; }
    .alert {
      margin: 16px 0; padding: 12px 14px; border-radius: 10px; border: 2px solid var(--danger);
      color: var(--danger); background: #fff0f1; font-weight: 600;
    }
    .warning {
      margin-block: 20px 4px; margin-inline: 0; padding-block: 12px; padding-inline: 14px; border-radius: 10px;
      background: var(--warn-bg); border: 2px solid var(--warn-line); border-inline-start-width: 6px; color: #3d2c00;
      text-align: start;
    }
    .code-shown {
      font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace;
      font-size: 2rem; letter-spacing: .18em; text-align: center; font-weight: 700; margin-block: 8px 16px; margin-inline: 0;
      padding: 10px; border: 2px dashed var(--line); border-radius: 10px; overflow-wrap: anywhere;
    }
    .code-shown + .hint { margin-block-start: -8px; }
    .client { overflow-wrap: anywhere; }
    /* Names and hosts inside a sentence keep their own order in a right-to-left page
       ("localhost:8080", not "8080:localhost"); a host is always left to right. */
    strong.client, strong.user { unicode-bidi: isolate; }
    strong.return-host { unicode-bidi: isolate; direction: ltr; }
    .scopes { list-style: none; padding: 0; margin: 0; border: 1px solid var(--line); border-radius: 10px; }
    .scopes li {
      padding-block: 12px; padding-inline: 14px; border-block-start: 1px solid var(--line); display: flex;
      justify-content: space-between; gap: 12px; align-items: baseline; text-align: start;
    }
    .scopes li:first-child { border-block-start: 0; }
    .scope-name { color: var(--muted); font-size: .8rem; unicode-bidi: isolate; direction: ltr; }
    .result { font-size: 2.4rem; inline-size: 64px; block-size: 64px; line-height: 64px; text-align: center; border-radius: 50%; margin-block: 8px 16px; margin-inline: 0; }
    .result.ok { background: #e3f4e8; color: #11652f; }
    .result.no { background: #fdecee; color: var(--danger); }
    .foot { color: var(--muted); font-size: .85rem; padding: 16px; text-align: center; }
    .foot p { margin-block: 0 8px; margin-inline: 0; }
    .languages ul { list-style: none; margin: 0; padding: 0; display: flex; flex-wrap: wrap; justify-content: center; gap: 4px 14px; }
    .languages a { color: var(--accent); display: inline-block; padding-block: 6px; min-block-size: 24px; }
    .languages a[aria-current="true"] { color: var(--ink); font-weight: 700; text-decoration: none; }
    @media (min-width: 640px) {
      body { padding-block-start: 0; }
      .card { margin-block: 48px 0; margin-inline: 16px; border: 1px solid var(--line); border-radius: 16px; padding: 36px 40px 40px;
              box-shadow: 0 6px 24px rgba(22, 24, 29, .06); }
      .bar { padding-block: 14px; padding-inline: 32px; }
      h1 { font-size: 1.9rem; }
      .buttons { flex-direction: row-reverse; gap: 12px; }
    }

    """
}
