extension BuiltInMessages {
    /// Arabic (Modern Standard Arabic), right to left: every key of English (`Messages+en.swift`),
    /// with the same `{placeholders}`.
    static let ar = #"""
    # العربية الفصحى المعاصرة. المخاطَب مفرد بصيغة المذكّر العامة (المعتادة في واجهات البرامج)،
    # و«يُرجى» للطلبات المهذّبة، بلا تنويع بين الصيغ. الزرّان: «موافقة» و«رفض».
    # الأرقام كما يعطيها البرنامج (0-9)، وأسماء المنتجات والبروتوكولات بالحروف اللاتينية كما هي.
    # لا تعرف ملفات الرسائل صيغ الجمع: تُقرأ الأعداد الشائعة هنا صحيحةً، وبعض الأعداد تقريبية.
    language_name = العربية
    language_direction = rtl

    # Every page: the top bar, the footer and its language switcher.
    header_signed_in = مسجَّل الدخول
    header_sign_out = تسجيل الخروج
    footer_tagline = تسجيل دخول الأجهزة
    language_switcher = اللغة

    # Code entry (GET /device).
    enter_title = ربط جهاز
    enter_lead = أدخل الرمز الظاهر على تلفازك أو جهاز الألعاب أو أي جهاز آخر.
    enter_code_label = الرمز
    enter_prefilled_hint = تحقّق من أن هذا الرمز يطابق الرمز الظاهر على جهازك، ثم تابِع.
    enter_continue = متابعة
    code_empty = أدخل الرمز الظاهر على جهازك.
    code_invalid_letters = هذا الرمز غير صالح. يتكوّن كل رمز من أحرف عددها {length}، مثل {example}.
    code_invalid_digits = هذا الرمز غير صالح. يتكوّن كل رمز من أرقام عددها {length}، مثل {example}.
    code_unknown = لم نتعرّف على هذا الرمز. قارِنه بالرمز الظاهر على جهازك ثم حاوِل مرة أخرى.
    code_expired = انتهت صلاحية هذا الرمز. ابدأ من جديد على جهازك للحصول على رمز جديد.
    code_used = سبق استخدام هذا الرمز. ابدأ من جديد على جهازك إذا كنت بحاجة إلى رمز جديد.
    code_denied = رُفض هذا الطلب ولا يمكن استخدامه مرة أخرى. ابدأ من جديد على جهازك.

    # Sign-in (the device page's and a web app's).
    signin_title = تسجيل الدخول
    signin_username = اسم المستخدم
    signin_password = كلمة المرور
    signin_submit = تسجيل الدخول
    signin_lead = سجّل الدخول للمتابعة.
    signin_lead_client = سجّل الدخول لربط {client}.
    signin_wrong = اسم المستخدم أو كلمة المرور غير صحيحة.
    device_code_label = رمز الجهاز

    # Consent for a device (after the code and the sign-in).
    consent_title = هل تسمح بالوصول؟
    consent_lead = يطلب {client} الاتصال بحسابك.
    consent_code_hint = يجب أن يطابق هذا الرمزُ الرمزَ الظاهر على جهازك.
    consent_abilities = سيتمكّن من
    consent_no_scopes = الاتصال بحسابك، دون أي أذونات إضافية
    consent_warning_strong = لا توافق إلا إذا بدأت هذا الطلب بنفسك
    consent_warning = {warning_strong}، على جهاز موجود أمامك الآن.
    consent_warning_more = إذا أرسل إليك أحدٌ هذا الرمز أو رابطًا إلى هذه الصفحة، أو لم تكن متأكدًا من مصدره، فاختر «رفض».
    consent_approve = موافقة
    consent_deny = رفض
    consent_signed_in_as = سجّلت الدخول باسم {user}. بالموافقة يصبح بإمكان {client} التصرّف نيابةً عنك.

    # What a scope allows, in plain words.
    scope_openid = معرفة هويتك (معرّف حسابك)
    scope_profile = الاطّلاع على اسمك وملفك الشخصي الأساسي
    scope_email = الاطّلاع على عنوان بريدك الإلكتروني
    scope_offline_access = البقاء متصلًا حين لا تستخدمه
    scope_groups = الاطّلاع على المجموعات التي تنتمي إليها
    scope_generic = استخدام الإذن «{scope}»

    # After the decision.
    done_approved_title = تم ربط الجهاز
    done_approved_lead = أصبح {client} متصلًا بحسابك الآن.
    done_denied_title = تم رفض الطلب
    done_denied_lead = لم يُمنح {client} حق الوصول.
    done_back = يمكنك الآن العودة إلى جهازك، ويمكنك إغلاق هذه الصفحة.
    done_another = ربط جهاز آخر

    # A decision that could not be applied.
    error_failed_heading = تعذّر إتمام العملية
    error_bad_request_title = طلب غير صالح
    decision_choose = اختر «موافقة» أو «رفض».
    decision_code_invalid = رمز الجهاز مفقود أو غير صالح.
    decision_signin_heading = يُرجى تسجيل الدخول أولًا
    decision_signin_text = انتهت جلسة تسجيل دخولك. أدخل الرمز مرة أخرى للمتابعة.
    decision_unknown_title = رمز غير معروف
    decision_unknown_heading = لم نتعرّف على الرمز
    decision_unknown_text = لم نتعرّف على هذا الرمز. ابدأ من جديد على جهازك.
    decision_expired_title = انتهت صلاحية الرمز
    decision_expired_heading = انتهت صلاحية هذا الرمز
    decision_expired_text = لم يتغيّر شيء. ابدأ من جديد على جهازك للحصول على رمز جديد.
    decision_decided_title = سبق اتخاذ القرار
    decision_approved_heading = تمت الموافقة مسبقًا
    decision_approved_text = سبقت الموافقة على هذا الطلب، لذا لم يتغيّر شيء. يمكنك العودة إلى جهازك.
    decision_denied_heading = تم الرفض مسبقًا
    decision_denied_text = سبق رفض هذا الطلب، لذا لم يتغيّر شيء. ابدأ من جديد على جهازك إذا كان ذلك خطأً.
    decision_other_flow_title = أدخل الرمز مرة أخرى
    decision_other_flow_heading = هذه الصفحة قديمة
    decision_other_flow_text = لم يتغيّر شيء. انتهى الطلب الذي كانت تعرضه هذه الصفحة، وقد يكون رمزه الآن تابعًا لجهاز آخر. أدخل الرمز الظاهر على جهازك مرة أخرى لترى ما يطلبه.

    # Message pages: errors, limits, the server's own trouble.
    message_back = العودة إلى إدخال الرمز
    error_unavailable_title = حاوِل مرة أخرى لاحقًا
    error_unavailable_heading = حدث خطأ ما
    error_unavailable_text = تعذّر على الخادم إكمال هذه الخطوة. يُرجى المحاولة مرة أخرى بعد دقيقة.
    error_not_allowed_title = غير مسموح
    error_not_allowed_text = لا يمكن استخدام هذه الصفحة بهذه الطريقة.
    error_not_found_title = غير موجودة
    error_not_found_heading = الصفحة غير موجودة
    error_not_found_text = لا توجد صفحة على هذا العنوان.
    error_too_large_title = كبير جدًا
    error_too_large_text = النموذج المُرسَل كبير جدًا.
    error_form_unreadable = تعذّرت قراءة النموذج. عُد إلى إدخال الرمز وحاوِل مرة أخرى.
    csrf_title = نموذج منتهي الصلاحية
    csrf_heading = انتهت صلاحية هذا النموذج
    csrf_text = حفاظًا على أمانك، تعذّر قبول النموذج. عُد إلى إدخال الرمز وحاوِل مرة أخرى.
    csrf_detail = يحدث هذا حين تبقى الصفحة مفتوحة مدة طويلة، أو بعد تسجيل الدخول أو الخروج في علامة تبويب أخرى، أو حين تكون ملفات تعريف الارتباط محظورة.
    limit_title = محاولات كثيرة جدًا
    limit_codes_everyone = أُدخل عدد كبير جدًا من الرموز الخاطئة في هذه الخدمة مؤخرًا، لذا توقفت مؤقتًا للجميع. يُرجى الانتظار {wait} ثم المحاولة مرة أخرى.
    limit_codes_network = أُدخل عدد كبير جدًا من الرموز الخاطئة من شبكتك. يُرجى الانتظار {wait} ثم المحاولة مرة أخرى.
    limit_passwords_everyone = أُدخل عدد كبير جدًا من كلمات المرور الخاطئة في هذه الخدمة مؤخرًا، لذا توقفت مؤقتًا للجميع. يُرجى الانتظار {wait} ثم المحاولة مرة أخرى.
    limit_passwords_network = أُدخل عدد كبير جدًا من كلمات المرور الخاطئة من شبكتك. يُرجى الانتظار {wait} ثم المحاولة مرة أخرى.
    limit_wait_one_minute = دقيقة واحدة
    limit_wait_minutes = {minutes} دقائق
    limit_detail = يحمي هذا رموزَ أجهزة الآخرين من التخمين.
    busy_title = الخدمة مشغولة
    busy_heading = عمليات تسجيل دخول كثيرة جدًا الآن
    busy_text = تتحقّق الخدمة الآن من عدد كبير من كلمات المرور، لذا لم يُتحقَّق من كلمة مرورك. يُرجى الانتظار بضع ثوانٍ ثم تسجيل الدخول مرة أخرى.
    delegated_title = لم يُسجَّل الدخول
    delegated_heading = أنت غير مسجَّل الدخول
    delegated_text = تسجّل هذه الخدمة دخول المستخدمين عبر خادم الويب الخاص بها، ولم يصل مع هذا الطلب أي مستخدم مسجَّل الدخول.
    delegated_detail = إذا كنت المشغّل: يجب أن يتحقّق nginx من هوية المستخدم في كتلة location هذه (auth_basic أو auth_request) وأن يمرّره في fastcgi_param DEVICEGATE_REMOTE_USER (راجع nginx/devicegate-verification-basic.conf)؛ أما REMOTE_USER فيُتجاهل.

    # A web app's sign-in (the authorization code flow).
    authorize_signin_lead = سجّل الدخول للمتابعة إلى {client}.
    authorize_consent_lead = يطلب {client} تسجيل دخولك واستخدام حسابك.
    authorize_consent_return = بعد أن تختار، ستنتقل إلى {return_host}.
    authorize_no_scopes = معرفة أنك سجّلت الدخول، دون أي أذونات إضافية
    authorize_warning_strong = لا توافق إلا إذا كنت تسجّل الدخول بنفسك إلى {client}
    authorize_warning = {warning_strong} وكنت تتوقع العودة إلى {return_host}.
    authorize_refused_title = رُفض طلب تسجيل الدخول
    authorize_refused_heading = لا يمكن استخدام طلب تسجيل الدخول هذا
    authorize_unreadable = تعذّرت قراءة طلب تسجيل الدخول. عُد إلى التطبيق وحاوِل مرة أخرى.
    authorize_unknown_application = تطبيق غير معروف.
    authorize_client_repeated = يذكر الطلب تطبيقه أكثر من مرة.
    authorize_client_missing = لا يحدّد الطلب التطبيق الذي أرسله (client_id مفقود).
    authorize_client_unknown = التطبيق الذي أرسلك إلى هنا غير مسجَّل في هذه الخدمة.
    authorize_redirect_repeated = يذكر الطلب عنوان العودة أكثر من مرة.
    authorize_redirect_missing = لا يذكر الطلب إلى أين تعود (redirect_uri مفقود).
    authorize_redirect_unregistered = العنوان الذي كان هذا الطلب سيعيدك إليه غير مسجَّل للتطبيق {client}، لذا لم تُرسَل إليه.
    authorize_expired = استغرق تسجيل الدخول وقتًا طويلًا فانتهت صلاحيته. عُد إلى التطبيق وسجّل الدخول مرة أخرى.
    authorize_invalid_link = رابط تسجيل الدخول هذا غير صالح. عُد إلى التطبيق وسجّل الدخول مرة أخرى.
    authorize_no_longer_registered = التطبيق الذي أرسلك إلى هنا لم يعد مسجَّلًا لهذا الغرض.
    form_post_title = متابعة
    form_post_hint = اختر «متابعة» للعودة إلى التطبيق.
    form_post_continue = متابعة

    # Signing out from a web app (RP-initiated logout).
    signout_refused_title = رُفض طلب تسجيل الخروج
    signout_refused_heading = لا يمكن استخدام طلب تسجيل الخروج هذا
    signout_refused_text = {reason} ما زلت مسجَّل الدخول.
    signout_unreadable = تعذّرت قراءة طلب تسجيل الخروج.
    signout_repeated = يكرّر طلب تسجيل الخروج أحد المعاملات.
    signout_too_long = طلب تسجيل الخروج طويل جدًا.
    signout_foreign_token = يحمل طلب تسجيل الخروج رمزًا مميزًا لتسجيل الدخول لم تُصدره هذه الخدمة.
    signout_two_applications = يذكر طلب تسجيل الخروج تطبيقين مختلفين.
    signed_out_title = تم تسجيل الخروج
    signed_out_heading = لقد سجّلت الخروج
    signed_out_text = لقد سجّلت الخروج من {product}.
    signed_out_not_sent = طلب التطبيق إرسالك إلى عنوان غير مسجَّل له، لذا لم تُرسَل إليه.
    signed_out_web_server = قد يظل تسجيل دخولك في خادم الويب نفسه نشطًا؛ أغلق المتصفح لإنهائه.
    signed_out_hint = يمكنك إغلاق هذه الصفحة.

    # Your devices and who is asking
    asking_heading = مَن يطلب الوصول
    asking_when = وقت الطلب
    asking_where = المصدر
    asking_software = برنامج الجهاز
    asking_your_network = شبكتك
    asking_other_network = شبكة أخرى
    asking_unknown_network = شبكة غير معروفة
    asking_urgent_title = جاء هذا الطلب من شبكة غير شبكتك.
    asking_unknown_title = لا يمكن التحقق من مصدر هذا الطلب.
    asking_urgent_text = إذا لم يكن الجهاز أمامك، فقد يكون شخص آخر يحاول الدخول إلى حسابك. اختر «رفض».
    devices_ago_now = الآن
    devices_ago_minute = منذ دقيقة
    devices_ago_minutes = منذ {minutes} دقيقة
    devices_ago_hour = منذ ساعة
    devices_ago_hours = منذ {hours} ساعة
    devices_ago_day = منذ يوم
    devices_ago_days = منذ {days} يوم
    devices_on_date = في {date}
    devices_link = أجهزتك
    devices_title = أجهزتك
    devices_lead = يمكن لهذه الأجهزة والتطبيقات استخدام حسابك. افصل أي جهاز لا تستخدمه أو لا تعرفه.
    devices_none = لا توجد أجهزة مرتبطة بحسابك.
    devices_approved = تمت الموافقة
    devices_last_used = آخر استخدام
    devices_not_yet = لم يُستخدم بعد
    devices_from = المصدر
    devices_disconnect = فصل
    devices_disconnected = تم فصل {client_name}، ولم يعد بإمكانه استخدام حسابك.
    devices_not_found = هذا الجهاز غير مرتبط بحسابك. ربما فُصل من قبل.
    devices_sign_in_lead = سجّل الدخول لعرض الأجهزة المرتبطة بحسابك.
    devices_wrong_password = اسم المستخدم أو كلمة المرور غير صحيحة.
    devices_connect_another = ربط جهاز
    devices_not_allowed = لا يمكن استخدام هذه الصفحة بهذه الطريقة.
    """#
}
