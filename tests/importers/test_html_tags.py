"""importers.html.strip_tags: the one way inline tags leave text that is not an HTML document."""

from __future__ import annotations

from woes.importers.html import HTML_ELEMENTS, strip_tags


def test_every_tag_token_goes_and_placeholders_with_underscores_stay():
    text = 'Use <code>limit</code> with <a href="x">docs</a><br/>then pass <customer_id> &amp; more'
    assert strip_tags(text, replacement=" ") == "Use  limit  with  docs  then pass <customer_id> &amp; more"


def test_known_elements_only_keeps_angle_bracket_words_of_the_text():
    text = "<p>Send <token> in the <b>Authorization</b> header.</p><think>x</think>"
    assert strip_tags(text, elements=HTML_ELEMENTS) == "Send <token> in the Authorization header.<think>x</think>"


def test_one_element_case_insensitive_with_attributes_and_closing_forms():
    assert strip_tags("a<BR>b<br />c<br clear=all>d</br>e<bro>", replacement=" ", elements=("br",)) == "a b c d e<bro>"


def test_entities_are_not_decoded_and_broken_markup_is_left():
    assert strip_tags("x &lt; y <p unclosed", elements=HTML_ELEMENTS) == "x &lt; y <p unclosed"
