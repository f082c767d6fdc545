/// The templates of issue 14's pages for the person:
/// - `who_is_asking` (a partial, included by `consent`): when, from where and with what the
///   device asked, RFC 8628 §5.4. Values (`WhoIsAsking.values`): `asking` (absent for flows
///   that kept no requester: nothing is shown), `asking_age`, `asking_network`,
///   `asking_address`, `asking_product`, `asking_urgent` and `asking_urgent_title` (the networks
///   differ, or cannot be compared).
/// - `devices`: "Your devices" (`/device/connected`). Values: `grants` (each `client_name`,
///   `scopes` with `description`, `approved_at`, `last_used`, `from_address`, `product` (empty when the device sent none),
///   `grant_id`), `notice`, `error`, `action`, `csrf_token`, `signed_in_as`; without
///   `signed_in_as` the sign-in form (`username`) instead of the list.
extension DefaultTemplates {
    static let whoIsAsking = """
    {{#asking}}
    <section class="asking" aria-labelledby="asking-heading">
      <h2 id="asking-heading">{{t.asking_heading}}</h2>
      <dl class="facts">
        <dt>{{t.asking_when}}</dt><dd>{{asking_age}}</dd>
        <dt>{{t.asking_where}}</dt><dd>{{asking_network}} <small class="address">{{asking_address}}</small></dd>
        {{#asking_product}}<dt>{{t.asking_software}}</dt><dd class="product">{{asking_product}}</dd>{{/asking_product}}
      </dl>
      {{#asking_urgent}}
      <div class="warning urgent" role="alert">
        <strong>{{asking_urgent_title}}</strong> {{t.asking_urgent_text}}
      </div>
      {{/asking_urgent}}
    </section>
    {{/asking}}

    """

    static let devices = """
    {{> header}}
    <h1>{{t.devices_title}}</h1>
    {{#notice}}<p class="notice" role="status">{{notice}}</p>{{/notice}}
    {{#error}}<p class="alert" role="alert">{{error}}</p>{{/error}}
    {{#signed_in_as}}
    <p class="lead">{{t.devices_lead}}</p>
    <ul class="grants">
    {{#grants}}
      <li class="grant">
        <h2 class="grant-client">{{client_name}}</h2>
        <ul class="grant-scopes">
        {{#scopes}}<li>{{description}}</li>{{/scopes}}
        </ul>
        <dl class="facts">
          <dt>{{t.devices_approved}}</dt><dd>{{approved_at}}</dd>
          <dt>{{t.devices_last_used}}</dt><dd>{{last_used}}</dd>
          <dt>{{t.devices_from}}</dt><dd><span class="address">{{from_address}}</span> <span class="product">{{product}}</span></dd>
        </dl>
        <form method="post" action="{{action}}">
          <input type="hidden" name="csrf_token" value="{{csrf_token}}">
          <input type="hidden" name="grant" value="{{grant_id}}">
          <button type="submit" class="secondary">{{t.devices_disconnect}}</button>
        </form>
      </li>
    {{/grants}}
    </ul>
    {{^grants}}<p class="hint">{{t.devices_none}}</p>{{/grants}}
    {{/signed_in_as}}
    {{^signed_in_as}}
    <p class="lead">{{t.devices_sign_in_lead}}</p>
    <form method="post" action="{{action}}" class="stack">
      <input type="hidden" name="csrf_token" value="{{csrf_token}}">
      <input type="hidden" name="step" value="sign_in">
      {{> sign_in_fields}}
    </form>
    {{/signed_in_as}}
    <p><a class="text-link" href="{{enter_url}}">{{t.devices_connect_another}}</a></p>
    {{> footer}}
    """

    /// Appended to `style.css`.
    static let devicesStyle = """
    .asking { margin: 20px 0 0; }
    .facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 12px; margin: 0; }
    .facts dt { color: var(--muted); }
    .facts dd { margin: 0; overflow-wrap: anywhere; }
    .address, .product { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: .85rem; color: var(--muted); unicode-bidi: isolate; direction: ltr; }
    .warning.urgent { background: #fff0f1; border-color: var(--danger); color: var(--danger); font-weight: 600; }
    .notice { margin: 16px 0; padding: 12px 14px; border-radius: 10px; border: 2px solid #11652f; background: #e3f4e8; color: #11652f; font-weight: 600; }
    .grants { list-style: none; padding: 0; margin: 0; }
    .grant { border: 1px solid var(--line); border-radius: 10px; padding: 14px; margin: 0 0 16px; }
    .grant-client { margin: 0 0 8px; font-size: 1.15rem; color: var(--ink); text-transform: none; letter-spacing: 0; overflow-wrap: anywhere; }
    .grant-scopes { margin: 0 0 8px; padding-inline-start: 20px; }
    .grant .secondary { margin-top: 12px; }

    """
}
