"""The one exception the template engine raises."""


class TemplateError(Exception):
    """A template that does not parse, or that fails while running. The message is Go's:
    ``template: :LINE: …`` for parse errors, ``template: :LINE:COL: executing "" at <…>: …``
    for execution errors (docker prints either after "template parsing error: ")."""
