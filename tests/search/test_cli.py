from portal.search import get_search


def test_reindex_check_and_drain(app, runner, db_session, make_record):
    make_record()
    make_record()
    result = runner.invoke(args=["search", "check"])
    assert result.exit_code == 2  # no index yet
    result = runner.invoke(args=["search", "reindex"])
    assert result.exit_code == 0, result.output
    assert "indexed 2 results" in result.output
    assert runner.invoke(args=["search", "check"]).exit_code == 0
    get_search().remove([make_record().source_id])
    result = runner.invoke(args=["search", "check"])
    assert result.exit_code == 1 and "missing: 1" in result.output.replace("thiếu/missing", "missing")
    result = runner.invoke(args=["search", "drain"])
    assert result.exit_code == 0 and "applied 0" in result.output
