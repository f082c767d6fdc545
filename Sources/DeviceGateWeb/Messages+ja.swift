extension BuiltInMessages {
    /// Japanese: every key of English (`Messages+en.swift`), with the same `{placeholders}`.
    static let ja = #"""
    # 日本語。文体は「です・ます」（丁寧語）で統一し、呼びかけは「あなた」を最小限にする。
    # 「ログイン」「ログアウト」（「サインイン」は使わない）、ボタンは「承認」「拒否」。
    # 語の間に空白を入れず、句読点と括弧は全角。製品名・プロトコル名・設定名は英字のまま。
    language_name = 日本語
    language_direction = ltr

    # Every page: the top bar, the footer and its language switcher.
    header_signed_in = ログイン中
    header_sign_out = ログアウト
    footer_tagline = デバイスログイン
    language_switcher = 言語

    # Code entry (GET /device).
    enter_title = デバイスを接続
    enter_lead = テレビ、ゲーム機などのデバイスに表示されているコードを入力してください。
    enter_code_label = コード
    enter_prefilled_hint = デバイスに表示されているコードと一致することを確認してから、続行してください。
    enter_continue = 続行
    code_empty = デバイスに表示されているコードを入力してください。
    code_invalid_letters = 有効なコードではありません。コードは{example}のような{length}文字の英字です。
    code_invalid_digits = 有効なコードではありません。コードは{example}のような{length}桁の数字です。
    code_unknown = このコードは認識できません。デバイスに表示されているコードと見比べて、もう一度お試しください。
    code_expired = このコードは有効期限が切れています。デバイスで最初からやり直して、新しいコードを取得してください。
    code_used = このコードはすでに使用されています。新しいコードが必要な場合は、デバイスで最初からやり直してください。
    code_denied = このリクエストは拒否されたため、再度使用することはできません。デバイスで最初からやり直してください。

    # Sign-in (the device page's and a web app's).
    signin_title = ログイン
    signin_username = ユーザー名
    signin_password = パスワード
    signin_submit = ログイン
    signin_lead = 続行するにはログインしてください。
    signin_lead_client = {client}を接続するにはログインしてください。
    signin_wrong = ユーザー名またはパスワードが正しくありません。
    device_code_label = デバイスコード

    # Consent for a device (after the code and the sign-in).
    consent_title = アクセスを許可しますか？
    consent_lead = {client}があなたのアカウントへの接続を求めています。
    consent_code_hint = このコードがデバイスに表示されているコードと同じであることを確認してください。
    consent_abilities = 許可される内容
    consent_no_scopes = 追加の権限なしでアカウントに接続する
    consent_warning_strong = ご自身で開始した場合にのみ承認してください
    consent_warning = {warning_strong}。今あなたの目の前にあるデバイスで開始したものに限ります。
    consent_warning_more = 誰かからこのコードやこのページへのリンクが送られてきた場合や、どこから来たものか分からない場合は、「拒否」を選んでください。
    consent_approve = 承認
    consent_deny = 拒否
    consent_signed_in_as = {user}としてログインしています。承認すると、{client}があなたとして操作できるようになります。

    # What a scope allows, in plain words.
    scope_openid = あなたが誰かを確認する（アカウントID）
    scope_profile = 名前と基本的なプロフィールを参照する
    scope_email = メールアドレスを参照する
    scope_offline_access = 使用していない間も接続を維持する
    scope_groups = 所属しているグループを参照する
    scope_generic = 「{scope}」の権限を使用する

    # After the decision.
    done_approved_title = デバイスを接続しました
    done_approved_lead = {client}があなたのアカウントに接続されました。
    done_denied_title = リクエストを拒否しました
    done_denied_lead = {client}にはアクセスを許可しませんでした。
    done_back = デバイスに戻って操作を続けてください。このページは閉じてもかまいません。
    done_another = 別のデバイスを接続

    # A decision that could not be applied.
    error_failed_heading = 処理できませんでした
    error_bad_request_title = 不正なリクエスト
    decision_choose = 「承認」または「拒否」を選んでください。
    decision_code_invalid = デバイスコードがないか、有効ではありません。
    decision_signin_heading = 先にログインしてください
    decision_signin_text = ログインの有効期限が切れました。続行するには、もう一度コードを入力してください。
    decision_unknown_title = 不明なコード
    decision_unknown_heading = コードを認識できません
    decision_unknown_text = このコードは認識できません。デバイスで最初からやり直してください。
    decision_expired_title = コードの有効期限切れ
    decision_expired_heading = このコードは有効期限が切れています
    decision_expired_text = 何も変更されていません。デバイスで最初からやり直して、新しいコードを取得してください。
    decision_decided_title = 決定済み
    decision_approved_heading = すでに承認されています
    decision_approved_text = このリクエストはすでに承認されているため、何も変更されていません。デバイスに戻って操作を続けてください。
    decision_denied_heading = すでに拒否されています
    decision_denied_text = このリクエストはすでに拒否されているため、何も変更されていません。誤って拒否した場合は、デバイスで最初からやり直してください。
    decision_other_flow_title = もう一度コードを入力してください
    decision_other_flow_heading = このページは古くなっています
    decision_other_flow_text = 何も変更されていません。このページに表示されていたリクエストは終了しており、そのコードは現在、別のデバイスのものになっている可能性があります。デバイスに表示されているコードをもう一度入力して、何が求められているかを確認してください。

    # Message pages: errors, limits, the server's own trouble.
    message_back = コード入力に戻る
    error_unavailable_title = しばらくしてからお試しください
    error_unavailable_heading = 問題が発生しました
    error_unavailable_text = サーバーがこの手順を完了できませんでした。1分ほどしてから、もう一度お試しください。
    error_not_allowed_title = 許可されていません
    error_not_allowed_text = このページはその方法では使用できません。
    error_not_found_title = 見つかりません
    error_not_found_heading = ページが見つかりません
    error_not_found_text = このアドレスにはページがありません。
    error_too_large_title = サイズ超過
    error_too_large_text = 送信されたフォームが大きすぎます。
    error_form_unreadable = フォームを読み取れませんでした。コード入力に戻って、もう一度お試しください。
    csrf_title = フォームの有効期限切れ
    csrf_heading = このフォームは有効期限が切れています
    csrf_text = セキュリティ保護のため、フォームを受け付けられませんでした。コード入力に戻って、もう一度お試しください。
    csrf_detail = この問題は、ページを長時間開いたままにしていた場合、別のタブでログインまたはログアウトした後、またはCookieがブロックされている場合に起こります。
    limit_title = 試行回数が多すぎます
    limit_codes_everyone = 最近このサービスで誤ったコードが多数入力されたため、すべての利用者に対して一時停止しています。{wait}待ってから、もう一度お試しください。
    limit_codes_network = お使いのネットワークから誤ったコードが多数入力されました。{wait}待ってから、もう一度お試しください。
    limit_passwords_everyone = 最近このサービスで誤ったパスワードが多数入力されたため、すべての利用者に対して一時停止しています。{wait}待ってから、もう一度お試しください。
    limit_passwords_network = お使いのネットワークから誤ったパスワードが多数入力されました。{wait}待ってから、もう一度お試しください。
    limit_wait_one_minute = 1分
    limit_wait_minutes = {minutes}分
    limit_detail = これは、他の人のデバイスのコードを推測されないようにするための措置です。
    busy_title = 混雑中
    busy_heading = 現在ログインが集中しています
    busy_text = 現在サービスが多数のパスワードを確認しているため、あなたのパスワードは確認されませんでした。数秒待ってから、もう一度ログインしてください。
    delegated_title = 未ログイン
    delegated_heading = ログインしていません
    delegated_text = このサービスはWebサーバーを通じてログインを行いますが、このリクエストにはログイン済みのユーザーが含まれていませんでした。
    delegated_detail = 運用者の方へ：nginxでこのlocationを認証し（auth_basicまたはauth_request）、ユーザーをfastcgi_param DEVICEGATE_REMOTE_USERとして渡す必要があります（nginx/devicegate-verification-basic.confを参照）。REMOTE_USERは無視されます。

    # A web app's sign-in (the authorization code flow).
    authorize_signin_lead = {client}に進むにはログインしてください。
    authorize_consent_lead = {client}が、あなたのアカウントでのログインとアカウントの利用を求めています。
    authorize_consent_return = 選択すると、{return_host}に移動します。
    authorize_no_scopes = ログインしたことを確認する（追加の権限なし）
    authorize_warning_strong = ご自身で{client}にログインしようとしていた場合にのみ承認してください
    authorize_warning = {warning_strong}。戻り先として{return_host}を想定していた場合に限ります。
    authorize_refused_title = ログインリクエストを受け付けられません
    authorize_refused_heading = このログインリクエストは使用できません
    authorize_unreadable = ログインリクエストを読み取れませんでした。アプリケーションに戻って、もう一度お試しください。
    authorize_unknown_application = 不明なアプリケーションです。
    authorize_client_repeated = リクエストにアプリケーションが複数回指定されています。
    authorize_client_missing = リクエストにどのアプリケーションからのものかが示されていません（client_idがありません）。
    authorize_client_unknown = あなたをここへ移動させたアプリケーションは、このサービスに登録されていません。
    authorize_redirect_repeated = リクエストに戻り先のアドレスが複数回指定されています。
    authorize_redirect_missing = リクエストに戻り先が示されていません（redirect_uriがありません）。
    authorize_redirect_unregistered = このリクエストの戻り先アドレスは{client}に登録されていないため、移動しませんでした。
    authorize_expired = ログインに時間がかかりすぎたため、有効期限が切れました。アプリケーションに戻って、もう一度ログインしてください。
    authorize_invalid_link = このログインリンクは有効ではありません。アプリケーションに戻って、もう一度ログインしてください。
    authorize_no_longer_registered = あなたをここへ移動させたアプリケーションは、この用途にはもう登録されていません。
    form_post_title = 続行
    form_post_hint = 「続行」を選ぶと、アプリケーションに戻ります。
    form_post_continue = 続行

    # Signing out from a web app (RP-initiated logout).
    signout_refused_title = ログアウトリクエストを受け付けられません
    signout_refused_heading = このログアウトリクエストは使用できません
    signout_refused_text = {reason}ログイン状態はそのままです。
    signout_unreadable = ログアウトリクエストを読み取れませんでした。
    signout_repeated = ログアウトリクエストでパラメーターが重複しています。
    signout_too_long = ログアウトリクエストが長すぎます。
    signout_foreign_token = ログアウトリクエストに、このサービスが発行していないログイントークンが含まれています。
    signout_two_applications = ログアウトリクエストに、異なる2つのアプリケーションが指定されています。
    signed_out_title = ログアウトしました
    signed_out_heading = ログアウトしました
    signed_out_text = {product}からログアウトしました。
    signed_out_not_sent = アプリケーションが登録されていないアドレスへの移動を求めたため、移動しませんでした。
    signed_out_web_server = Webサーバー自体のログインはまだ有効な場合があります。終了するにはブラウザーを閉じてください。
    signed_out_hint = このページは閉じてもかまいません。

    # Your devices and who is asking
    asking_heading = リクエストしているデバイス
    asking_when = リクエスト日時
    asking_where = 送信元
    asking_software = デバイスのソフトウェア
    asking_your_network = あなたと同じネットワーク
    asking_other_network = 別のネットワーク
    asking_unknown_network = 不明なネットワーク
    asking_urgent_title = このリクエストは、あなたとは別のネットワークから送信されました。
    asking_unknown_title = このリクエストの送信元を確認できません。
    asking_urgent_text = デバイスが目の前にない場合、他の誰かがあなたのアカウントに侵入しようとしている可能性があります。「拒否」を選んでください。
    devices_ago_now = たった今
    devices_ago_minute = 1分前
    devices_ago_minutes = {minutes}分前
    devices_ago_hour = 1時間前
    devices_ago_hours = {hours}時間前
    devices_ago_day = 1日前
    devices_ago_days = {days}日前
    devices_on_date = {date}
    devices_link = 接続済みのデバイス
    devices_title = 接続済みのデバイス
    devices_lead = これらのデバイスやアプリはあなたのアカウントを使用できます。使っていないものや心当たりのないものは、接続を解除してください。
    devices_none = アカウントに接続されているデバイスはありません。
    devices_approved = 承認日時
    devices_last_used = 最終使用日時
    devices_not_yet = 未使用
    devices_from = 接続元
    devices_disconnect = 接続を解除
    devices_disconnected = {client_name}の接続を解除しました。このデバイスは今後、あなたのアカウントを使用できません。
    devices_not_found = そのデバイスはアカウントに接続されていません。すでに接続が解除されている可能性があります。
    devices_sign_in_lead = アカウントに接続されているデバイスを確認するには、ログインしてください。
    devices_wrong_password = ユーザー名またはパスワードが正しくありません。
    devices_connect_another = デバイスを接続
    devices_not_allowed = このページはその方法では使用できません。
    """#
}
