extension BuiltInMessages {
    static let en = #"""
    # English: the reference for every other language.
    language_name = English
    language_direction = ltr
    """#
}
