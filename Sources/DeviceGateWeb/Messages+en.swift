extension BuiltInMessages {
    static let en = #"""
    # English: the reference for every other language.
    language_name = English
    language_direction = ltr
    # Your devices and who is asking
    asking_heading = Who is asking
    asking_when = Requested
    asking_where = From
    asking_software = Device software
    asking_your_network = your network
    asking_other_network = another network
    asking_urgent_title = This request came from a different network than yours.
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
