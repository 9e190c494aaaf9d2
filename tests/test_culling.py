"""Culling decisions: undo/redo of multi-photo edits, late sidecar reads, filters."""

import pytest

from aesview.core.culling import CullBook, Decision, Flag, passes, set_flag, set_stars


def test_one_edit_undoes_a_whole_selection():
    book = CullBook()
    e = book.apply(["a", "b"], set_flag(Flag.PICK))
    assert e.paths == ["a", "b"]
    book.apply(["b"], set_stars(4))
    assert book.get("b") == Decision(Flag.PICK, 4)
    assert book.undo().paths == ["b"]
    assert book.get("b") == Decision(Flag.PICK, 0)
    book.undo()
    assert book.get("a") == book.get("b") == Decision()
    assert book.undo() is None and not book.can_undo()
    book.redo()
    assert book.get("a").picked and book.get("b").picked
    book.redo()
    assert book.get("b").stars == 4
    assert book.redo() is None


def test_new_edit_clears_redo_and_no_op_makes_no_entry():
    book = CullBook()
    book.apply(["a"], set_flag(Flag.REJECT))
    book.undo()
    assert book.can_redo()
    book.apply(["a"], set_stars(2))
    assert not book.can_redo()
    assert book.apply(["a"], set_stars(2)) is None      # nothing changed: nothing to undo
    assert book.undo().changes[0][2] == Decision(Flag.NONE, 2)
    assert not book.can_undo()


def test_late_sidecar_read_never_overrides_the_user():
    book = CullBook()
    assert book.load("a", Decision(Flag.PICK, 1))
    book.apply(["b"], set_flag(Flag.REJECT))
    assert not book.load("b", Decision(Flag.PICK, 5))
    assert book.get("b").rejected
    assert not book.can_redo() and book.can_undo()


def test_forget_drops_moved_photos_from_history():
    book = CullBook()
    book.apply(["a"], set_flag(Flag.PICK))
    book.apply(["b"], set_flag(Flag.PICK))
    book.forget(["a"])
    assert book.get("a") == Decision()
    assert book.undo().paths == ["b"]
    assert book.undo() is None


def test_filters():
    pick3, rej, plain = Decision(Flag.PICK, 3), Decision(Flag.REJECT), Decision(Flag.NONE, 1)
    assert [passes(d, "picks") for d in (pick3, rej, plain)] == [True, False, False]
    assert [passes(d, "not_rejected") for d in (pick3, rej, plain)] == [True, False, True]
    assert [passes(d, "rejected") for d in (pick3, rej, plain)] == [False, True, False]
    assert [passes(d, "stars", 2) for d in (pick3, rej, plain)] == [True, False, False]
    assert [passes(d, "stars", 1) for d in (pick3, rej, plain)] == [True, False, True]
    assert all(passes(d) for d in (pick3, rej, plain))
    with pytest.raises(ValueError):
        passes(plain, "favourites")


def test_stars_are_bounded():
    with pytest.raises(ValueError):
        set_stars(6)
    with pytest.raises(ValueError):
        Decision(Flag.PICK, -1)
