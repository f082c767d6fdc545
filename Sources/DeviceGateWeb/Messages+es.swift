extension BuiltInMessages {
    /// Spanish, addressing the person as "tú" throughout (as most sign-in pages in Spanish do),
    /// in wording shared by Spain and Latin America ("escribe el código", not "introduce" or
    /// "ingresa"). Same keys and `{placeholders}` as English; buttons are quoted as «Permitir».
    static let es = #"""
    # Español: se trata de «tú» a la persona en todas partes. Approve = «Permitir», Deny = «Denegar».
    language_name = Español
    language_direction = ltr

    # Every page: the top bar, the footer and its language switcher.
    header_signed_in = Sesión iniciada
    header_sign_out = Cerrar sesión
    footer_tagline = inicio de sesión de dispositivos
    language_switcher = Idioma

    # Code entry (GET /device).
    enter_title = Conectar un dispositivo
    enter_lead = Escribe el código que aparece en tu televisor, consola u otro dispositivo.
    enter_code_label = Código
    enter_prefilled_hint = Comprueba que coincide con el código de tu dispositivo y luego continúa.
    enter_continue = Continuar
    code_empty = Escribe el código que aparece en tu dispositivo.
    code_invalid_letters = Ese código no es válido. Los códigos tienen {length} letras, como {example}.
    code_invalid_digits = Ese código no es válido. Los códigos tienen {length} dígitos, como {example}.
    code_unknown = No reconocemos ese código. Compáralo con el código de tu dispositivo y vuelve a intentarlo.
    code_expired = Ese código ha expirado. Vuelve a empezar en tu dispositivo para obtener un código nuevo.
    code_used = Ese código ya se ha usado. Vuelve a empezar en tu dispositivo si necesitas uno nuevo.
    code_denied = Esa solicitud se ha denegado y no puede volver a usarse. Vuelve a empezar en tu dispositivo.

    # Sign-in (the device page's and a web app's).
    signin_title = Iniciar sesión
    signin_username = Nombre de usuario
    signin_password = Contraseña
    signin_submit = Iniciar sesión
    signin_lead = Inicia sesión para continuar.
    signin_lead_client = Inicia sesión para conectar {client}.
    signin_wrong = El nombre de usuario o la contraseña no son correctos.
    device_code_label = Código del dispositivo

    # Consent for a device (after the code and the sign-in).
    consent_title = ¿Permitir el acceso?
    consent_lead = {client} quiere conectarse a tu cuenta.
    consent_code_hint = Este código debe coincidir con el de tu dispositivo.
    consent_abilities = Podrá
    consent_no_scopes = Conectarse a tu cuenta, sin permisos adicionales
    consent_warning_strong = Permite el acceso solo si fuiste tú quien inició esta solicitud
    consent_warning = {warning_strong}, en un dispositivo que tengas delante ahora mismo.
    consent_warning_more = Si alguien te ha enviado este código o un enlace a esta página, o no sabes con certeza de dónde viene, elige «Denegar».
    consent_approve = Permitir
    consent_deny = Denegar
    consent_signed_in_as = Sesión iniciada como {user}. Si lo permites, {client} podrá actuar en tu nombre.

    # What a scope allows, in plain words (after «Podrá»).
    scope_openid = Saber quién eres (el ID de tu cuenta)
    scope_profile = Ver tu nombre y tu perfil básico
    scope_email = Ver tu dirección de correo electrónico
    scope_offline_access = Seguir conectado aunque no lo estés usando
    scope_groups = Ver a qué grupos perteneces
    scope_generic = Usar el permiso «{scope}»

    # After the decision.
    done_approved_title = Dispositivo conectado
    done_approved_lead = {client} ya está conectado a tu cuenta.
    done_denied_title = Solicitud denegada
    done_denied_lead = No se ha concedido acceso a {client}.
    done_back = Ya puedes volver a tu dispositivo y cerrar esta página.
    done_another = Conectar otro dispositivo

    # A decision that could not be applied.
    error_failed_heading = No ha funcionado
    error_bad_request_title = Solicitud incorrecta
    decision_choose = Elige «Permitir» o «Denegar».
    decision_code_invalid = Faltaba el código del dispositivo o no era válido.
    decision_signin_heading = Primero inicia sesión
    decision_signin_text = Tu sesión ha terminado. Vuelve a escribir el código para continuar.
    decision_unknown_title = Código desconocido
    decision_unknown_heading = Código no reconocido
    decision_unknown_text = No reconocemos ese código. Vuelve a empezar en tu dispositivo.
    decision_expired_title = Código expirado
    decision_expired_heading = Este código ha expirado
    decision_expired_text = No se ha cambiado nada. Vuelve a empezar en tu dispositivo para obtener un código nuevo.
    decision_decided_title = Ya se ha decidido
    decision_approved_heading = Ya se ha permitido
    decision_approved_text = Esta solicitud ya se había permitido, así que no se ha cambiado nada. Puedes volver a tu dispositivo.
    decision_denied_heading = Ya se ha denegado
    decision_denied_text = Esta solicitud ya se había denegado, así que no se ha cambiado nada. Si fue un error, vuelve a empezar en tu dispositivo.
    decision_other_flow_title = Vuelve a escribir el código
    decision_other_flow_heading = Esta página está desactualizada
    decision_other_flow_text = No se ha cambiado nada. La solicitud que mostraba esta página ha terminado y su código puede pertenecer ahora a otro dispositivo. Vuelve a escribir el código que aparece en tu dispositivo para ver qué solicita.

    # Message pages: errors, limits, the server's own trouble.
    message_back = Volver a la página del código
    error_unavailable_title = Inténtalo más tarde
    error_unavailable_heading = Algo ha salido mal
    error_unavailable_text = El servidor no ha podido completar este paso. Vuelve a intentarlo dentro de un minuto.
    error_not_allowed_title = No permitido
    error_not_allowed_text = Esta página no se puede usar de esa forma.
    error_not_found_title = No encontrada
    error_not_found_heading = Página no encontrada
    error_not_found_text = No hay ninguna página en esta dirección.
    error_too_large_title = Demasiado grande
    error_too_large_text = El formulario enviado era demasiado grande.
    error_form_unreadable = No se ha podido leer el formulario. Vuelve a la página del código e inténtalo de nuevo.
    csrf_title = Formulario expirado
    csrf_heading = Este formulario ha expirado
    csrf_text = Por tu seguridad, no se ha podido aceptar el formulario. Vuelve a la página del código e inténtalo de nuevo.
    csrf_detail = Esto ocurre cuando una página ha estado abierta mucho tiempo, después de iniciar o cerrar sesión en otra pestaña, o cuando las cookies están bloqueadas.
    limit_title = Demasiados intentos
    limit_codes_everyone = Últimamente se han escrito demasiados códigos incorrectos en este servicio, así que está en pausa para todos. Espera {wait} y vuelve a intentarlo.
    limit_codes_network = Se han escrito demasiados códigos incorrectos desde tu red. Espera {wait} y vuelve a intentarlo.
    limit_passwords_everyone = Últimamente se han escrito demasiadas contraseñas incorrectas en este servicio, así que está en pausa para todos. Espera {wait} y vuelve a intentarlo.
    limit_passwords_network = Se han escrito demasiadas contraseñas incorrectas desde tu red. Espera {wait} y vuelve a intentarlo.
    limit_wait_one_minute = un minuto
    limit_wait_minutes = {minutes} minutos
    limit_detail = Así se evita que alguien adivine los códigos de los dispositivos de otras personas.
    busy_title = Servicio ocupado
    busy_heading = Demasiados inicios de sesión en este momento
    busy_text = El servicio está comprobando muchas contraseñas en este momento, así que la tuya no se ha comprobado. Espera unos segundos y vuelve a iniciar sesión.
    delegated_title = Sin sesión iniciada
    delegated_heading = No has iniciado sesión
    delegated_text = Este servicio identifica a las personas a través de su servidor web, y esta solicitud no ha llegado con ningún usuario que haya iniciado sesión.
    delegated_detail = Si eres el administrador: nginx debe autenticar esta location (auth_basic o auth_request) y pasar el usuario como fastcgi_param DEVICEGATE_REMOTE_USER (consulta nginx/devicegate-verification-basic.conf); REMOTE_USER se ignora.

    # A web app's sign-in (the authorization code flow).
    authorize_signin_lead = Inicia sesión para continuar en {client}.
    authorize_consent_lead = {client} quiere identificarte y usar tu cuenta.
    authorize_consent_return = Cuando elijas, se te enviará a {return_host}.
    authorize_no_scopes = Saber que has iniciado sesión, sin permisos adicionales
    authorize_warning_strong = Permite el acceso solo si eras tú quien estaba iniciando sesión en {client}
    authorize_warning = {warning_strong} y esperabas volver a {return_host}.
    authorize_refused_title = Solicitud de inicio de sesión rechazada
    authorize_refused_heading = Esta solicitud de inicio de sesión no se puede usar
    authorize_unreadable = No se ha podido leer la solicitud de inicio de sesión. Vuelve a la aplicación e inténtalo de nuevo.
    authorize_unknown_application = Aplicación desconocida.
    authorize_client_repeated = La solicitud indica su aplicación más de una vez.
    authorize_client_missing = La solicitud no indica qué aplicación la envía (falta client_id).
    authorize_client_unknown = La aplicación que te ha enviado aquí no está registrada en este servicio.
    authorize_redirect_repeated = La solicitud indica su dirección de retorno más de una vez.
    authorize_redirect_missing = La solicitud no indica adónde volver (falta redirect_uri).
    authorize_redirect_unregistered = La dirección a la que esta solicitud te enviaría no está registrada para {client}, así que no se te ha enviado allí.
    authorize_expired = Este inicio de sesión ha tardado demasiado y ha expirado. Vuelve a la aplicación e inicia sesión de nuevo.
    authorize_invalid_link = Este enlace de inicio de sesión no es válido. Vuelve a la aplicación e inicia sesión de nuevo.
    authorize_no_longer_registered = La aplicación que te ha enviado aquí ya no está registrada para esto.
    form_post_title = Continuar
    form_post_hint = Selecciona «Continuar» para volver a la aplicación.
    form_post_continue = Continuar

    # Signing out from a web app (RP-initiated logout).
    signout_refused_title = Solicitud de cierre de sesión rechazada
    signout_refused_heading = Esta solicitud de cierre de sesión no se puede usar
    signout_refused_text = {reason} Tu sesión sigue iniciada.
    signout_unreadable = No se ha podido leer la solicitud de cierre de sesión.
    signout_repeated = La solicitud de cierre de sesión repite un parámetro.
    signout_too_long = La solicitud de cierre de sesión es demasiado larga.
    signout_foreign_token = La solicitud de cierre de sesión contiene un token de inicio de sesión que este servicio no ha emitido.
    signout_two_applications = La solicitud de cierre de sesión indica dos aplicaciones distintas.
    signed_out_title = Sesión cerrada
    signed_out_heading = Has cerrado sesión
    signed_out_text = Has cerrado sesión en {product}.
    signed_out_not_sent = La aplicación ha pedido enviarte a una dirección que no está registrada para ella, así que no se te ha enviado allí.
    signed_out_web_server = Es posible que el inicio de sesión propio del servidor web siga activo; cierra el navegador para terminarlo.
    signed_out_hint = Ya puedes cerrar esta página.

    # Your devices and who is asking.
    asking_heading = Quién lo solicita
    asking_when = Solicitado
    asking_where = Origen
    asking_software = Software del dispositivo
    asking_your_network = tu red
    asking_other_network = otra red
    asking_unknown_network = una red desconocida
    asking_urgent_title = Esta solicitud ha llegado desde una red distinta de la tuya.
    asking_unknown_title = No se puede comprobar desde dónde ha llegado esta solicitud.
    asking_urgent_text = Si el dispositivo no está delante de ti, es posible que otra persona esté intentando entrar en tu cuenta. Elige «Denegar».
    devices_ago_now = ahora mismo
    devices_ago_minute = hace 1 minuto
    devices_ago_minutes = hace {minutes} minutos
    devices_ago_hour = hace 1 hora
    devices_ago_hours = hace {hours} horas
    devices_ago_day = hace 1 día
    devices_ago_days = hace {days} días
    devices_on_date = el {date}
    devices_link = Tus dispositivos
    devices_title = Tus dispositivos
    devices_lead = Estos dispositivos y aplicaciones pueden usar tu cuenta. Desconecta los que no uses o no reconozcas.
    devices_none = No hay ningún dispositivo conectado a tu cuenta.
    devices_approved = Permitido
    devices_last_used = Último uso
    devices_not_yet = todavía no
    devices_from = Origen
    devices_disconnect = Desconectar
    devices_disconnected = {client_name} se ha desconectado y ya no puede usar tu cuenta.
    devices_not_found = Ese dispositivo no está conectado a tu cuenta. Es posible que ya se haya desconectado.
    devices_sign_in_lead = Inicia sesión para ver los dispositivos conectados a tu cuenta.
    devices_wrong_password = El nombre de usuario o la contraseña no son correctos.
    devices_connect_another = Conectar un dispositivo
    devices_not_allowed = Esta página no se puede usar de esa forma.
    """#
}
