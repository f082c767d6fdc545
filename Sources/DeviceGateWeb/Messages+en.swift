extension BuiltInMessages {
    /// English: the reference every other language is checked against (same keys, same
    /// `{placeholders}`). `{name}` is filled in by the page; `{{` and `}}` are literal braces.
    static let en = #"""
    # English: the reference for every other language.
    language_name = English
    language_direction = ltr

    # Every page: the top bar, the footer and its language switcher.
    header_signed_in = Signed in
    header_sign_out = Sign out
    footer_tagline = device sign-in
    language_switcher = Language

    # Code entry (GET /device).
    enter_title = Connect a device
    enter_lead = Enter the code shown on your TV, console or other device.
    enter_code_label = Code
    enter_prefilled_hint = Check that this matches the code on your device, then continue.
    enter_continue = Continue
    code_empty = Enter the code shown on your device.
    code_invalid_letters = That is not a valid code. Codes are {length} letters, like {example}.
    code_invalid_digits = That is not a valid code. Codes are {length} digits, like {example}.
    code_unknown = We don’t recognise that code. Check it against the code on your device and try again.
    code_expired = That code has expired. Start again on your device to get a new code.
    code_used = That code has already been used. Start again on your device if you need a new one.
    code_denied = That request was denied and cannot be used again. Start again on your device.

    # Sign-in (the device page's and a web app's).
    signin_title = Sign in
    signin_username = Username
    signin_password = Password
    signin_submit = Sign in
    signin_lead = Sign in to continue.
    signin_lead_client = Sign in to connect {client}.
    signin_wrong = Wrong username or password.
    device_code_label = Device code

    # Consent for a device (after the code and the sign-in).
    consent_title = Allow access?
    consent_lead = {client} wants to connect to your account.
    consent_code_hint = This code should match the one on your device.
    consent_abilities = It will be able to
    consent_no_scopes = Connect to your account, with no extra permissions
    consent_warning_strong = Only approve if you started this yourself
    consent_warning = {warning_strong}, on a device that is in front of you right now.
    consent_warning_more = If someone sent you this code or a link to this page, or you are not sure where it came from, choose Deny.
    consent_approve = Approve
    consent_deny = Deny
    consent_signed_in_as = Signed in as {user}. Approving lets {client} act as you.

    # What a scope allows, in plain words. Any scope may be described as scope_<name>, in any
    # language; a language that leaves one out uses English's, then scope_generic.
    scope_openid = Know who you are (your account ID)
    scope_profile = See your name and basic profile
    scope_email = See your email address
    scope_offline_access = Stay connected while you are not using it
    scope_groups = See which groups you belong to
    scope_generic = Use the “{scope}” permission

    # After the decision.
    done_approved_title = Device connected
    done_approved_lead = {client} is now connected to your account.
    done_denied_title = Request denied
    done_denied_lead = {client} was not given access.
    done_back = You can go back to your device now. You may close this page.
    done_another = Connect another device

    # A decision that could not be applied.
    error_failed_heading = That did not work
    error_bad_request_title = Bad request
    decision_choose = Choose Approve or Deny.
    decision_code_invalid = The device code was missing or not valid.
    decision_signin_heading = Please sign in first
    decision_signin_text = Your sign-in has ended. Enter the code again to continue.
    decision_unknown_title = Unknown code
    decision_unknown_heading = Code not recognised
    decision_unknown_text = We don’t recognise that code. Start again on your device.
    decision_expired_title = Code expired
    decision_expired_heading = This code has expired
    decision_expired_text = Nothing was changed. Start again on your device to get a new code.
    decision_decided_title = Already decided
    decision_approved_heading = Already approved
    decision_approved_text = This request was already approved, so nothing was changed. You can go back to your device.
    decision_denied_heading = Already denied
    decision_denied_text = This request was already denied, so nothing was changed. Start again on your device if that was a mistake.
    decision_other_flow_title = Enter the code again
    decision_other_flow_heading = This page is out of date
    decision_other_flow_text = Nothing was changed. The request this page showed has ended, and its code may now belong to another device. Enter the code shown on your device again to see what it asks for.

    # Message pages: errors, limits, the server's own trouble.
    message_back = Back to code entry
    error_unavailable_title = Try again later
    error_unavailable_heading = Something went wrong
    error_unavailable_text = The server could not complete this step. Please try again in a minute.
    error_not_allowed_title = Not allowed
    error_not_allowed_text = This page cannot be used that way.
    error_not_found_title = Not found
    error_not_found_heading = Page not found
    error_not_found_text = There is no page at this address.
    error_too_large_title = Too large
    error_too_large_text = The form sent was too large.
    error_form_unreadable = The form could not be read. Go back to code entry and try again.
    csrf_title = Expired form
    csrf_heading = This form has expired
    csrf_text = For your security the form could not be accepted. Go back to code entry and try again.
    csrf_detail = This happens when a page was open for a long time, after signing in or out in another tab, or when cookies are blocked.
    limit_title = Too many attempts
    limit_codes_everyone = Too many wrong codes have been entered on this service recently, so it is pausing for everyone. Please wait {wait} and try again.
    limit_codes_network = Too many wrong codes were entered from your network. Please wait {wait} and try again.
    limit_passwords_everyone = Too many wrong passwords have been entered on this service recently, so it is pausing for everyone. Please wait {wait} and try again.
    limit_passwords_network = Too many wrong passwords were entered from your network. Please wait {wait} and try again.
    limit_wait_one_minute = a minute
    limit_wait_minutes = {minutes} minutes
    limit_detail = This protects the codes of other people’s devices from being guessed.
    busy_title = Busy
    busy_heading = Too many sign-ins right now
    busy_text = The service is checking a lot of passwords at the moment, so yours was not checked. Please wait a few seconds and sign in again.
    delegated_title = Not signed in
    delegated_heading = You are not signed in
    delegated_text = This service signs people in through its web server, and no signed-in user arrived with this request.
    delegated_detail = If you are the operator: nginx must authenticate this location (auth_basic or auth_request) and pass the user as fastcgi_param DEVICEGATE_REMOTE_USER (see nginx/devicegate-verification-basic.conf); REMOTE_USER is ignored.

    # A web app's sign-in (the authorization code flow).
    authorize_signin_lead = Sign in to continue to {client}.
    authorize_consent_lead = {client} wants to sign you in and use your account.
    authorize_consent_return = After you choose, you will be sent to {return_host}.
    authorize_no_scopes = Know that you signed in, with no extra permissions
    authorize_warning_strong = Only approve if you were signing in to {client} yourself
    authorize_warning = {warning_strong} and expected to return to {return_host}.
    authorize_refused_title = Sign-in request refused
    authorize_refused_heading = This sign-in request cannot be used
    authorize_unreadable = The sign-in request could not be read. Go back to the application and try again.
    authorize_unknown_application = Unknown application.
    authorize_client_repeated = The request names its application more than once.
    authorize_client_missing = The request does not say which application is asking (client_id is missing).
    authorize_client_unknown = The application that sent you here is not registered with this service.
    authorize_redirect_repeated = The request names its return address more than once.
    authorize_redirect_missing = The request does not say where to return to (redirect_uri is missing).
    authorize_redirect_unregistered = The address this request would return you to is not registered for {client}, so you were not sent there.
    authorize_expired = This sign-in took too long and has expired. Go back to the application and sign in again.
    authorize_invalid_link = This sign-in link is not valid. Go back to the application and sign in again.
    authorize_no_longer_registered = The application that sent you here is no longer registered for this.
    form_post_title = Continue
    form_post_hint = Select Continue to return to the application.
    form_post_continue = Continue

    # Signing out from a web app (RP-initiated logout).
    signout_refused_title = Sign-out request refused
    signout_refused_heading = This sign-out request cannot be used
    signout_refused_text = {reason} You are still signed in.
    signout_unreadable = The sign-out request could not be read.
    signout_repeated = The sign-out request repeats a parameter.
    signout_too_long = The sign-out request is too long.
    signout_foreign_token = The sign-out request carries a sign-in token this service did not issue.
    signout_two_applications = The sign-out request names two different applications.
    signed_out_title = Signed out
    signed_out_heading = You are signed out
    signed_out_text = You are signed out of {product}.
    signed_out_not_sent = The application asked to send you to an address that is not registered for it, so you were not sent there.
    signed_out_web_server = Your web server’s own sign-in may still be active; close the browser to end it.
    signed_out_hint = You may close this page.

    # Your devices and who is asking
    asking_heading = Who is asking
    asking_when = Requested
    asking_where = From
    asking_software = Device software
    asking_your_network = your network
    asking_other_network = another network
    asking_unknown_network = an unknown network
    asking_urgent_title = This request came from a different network than yours.
    asking_unknown_title = Where this request came from cannot be checked.
    asking_urgent_text = If the device is not in front of you, someone else may be trying to get into your account. Choose Deny.
    devices_ago_now = just now
    devices_ago_minute = 1 minute ago
    devices_ago_minutes = {minutes} minutes ago
    devices_ago_hour = 1 hour ago
    devices_ago_hours = {hours} hours ago
    devices_ago_day = 1 day ago
    devices_ago_days = {days} days ago
    devices_on_date = on {date}
    devices_link = Your devices
    devices_title = Your devices
    devices_lead = These devices and apps can use your account. Disconnect any you do not use or do not know.
    devices_none = No devices are connected to your account.
    devices_approved = Approved
    devices_last_used = Last used
    devices_not_yet = not yet
    devices_from = From
    devices_disconnect = Disconnect
    devices_disconnected = {client_name} is disconnected. It can no longer use your account.
    devices_not_found = That device is not connected to your account. It may have been disconnected already.
    devices_sign_in_lead = Sign in to see the devices connected to your account.
    devices_wrong_password = Wrong username or password.
    devices_connect_another = Connect a device
    devices_not_allowed = This page cannot be used that way.
    """#
}
