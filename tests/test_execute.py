"""Tidying of executed outputs: progress-bar redraws resolve to what stays on screen."""

import nbformat

from autograder.execute import screen_text, tidy_streams


def test_screen_text_keeps_what_follows_the_last_carriage_return():
    bar = "\repochs:   0%|  | 0/3\repochs:  67%|## | 2/3\repochs: 100%|###| 3/3\n"
    assert screen_text(bar) == "epochs: 100%|###| 3/3\n"
    assert screen_text("a\nb\n") == "a\nb\n"


def test_a_bar_cleared_with_leave_false_disappears_and_ansi_codes_go():
    assert screen_text("\repochs: 50%\r" + " " * 20 + "\r") == ""
    assert screen_text("\x1b[Adone\n") == "done\n"


def test_tidy_streams_merges_consecutive_streams_of_one_name():
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="a\n"),
                    nbformat.v4.new_output("stream", name="stdout", text="\rbar 1\rbar 2"),
                    nbformat.v4.new_output("stream", name="stdout", text="\r" + " " * 9 + "\rb\n"),
                    nbformat.v4.new_output("stream", name="stderr", text="warn\n")]
    nb = nbformat.v4.new_notebook(cells=[cell, nbformat.v4.new_markdown_cell("text")])
    tidy_streams(nb)
    assert [(o.name, o.text) for o in nb.cells[0].outputs] == [("stdout", "a\nb\n"), ("stderr", "warn\n")]
    assert "outputs" not in nb.cells[1]
