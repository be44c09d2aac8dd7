"""The floor every page is measured against: bare Flask rendering a 20-row Jinja table.

    gunicorn --chdir benchmarks bare_flask:app   (same workers and threads as the portal)
"""

from flask import Flask

app = Flask(__name__)

ROWS = [{"number": f"{400 + i}/GPXD", "title": "Giấy phép xây dựng nhà ở riêng lẻ", "unit": "Phường Nghĩa Đô",
         "issued": "14/05/2019", "status": "Còn hiệu lực"} for i in range(20)]

PAGE = """<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>Kết quả</title></head><body>
<table><thead><tr><th>Số</th><th>Tên</th><th>Đơn vị</th><th>Ngày cấp</th><th>Tình trạng</th></tr></thead><tbody>
{% for row in rows %}<tr><td>{{ row.number }}</td><td>{{ row.title }}</td><td>{{ row.unit }}</td>
<td>{{ row.issued }}</td><td>{{ row.status }}</td></tr>{% endfor %}
</tbody></table></body></html>"""


#: Compiled once, as Flask compiles a template file once: render_template_string would compile per request.
TEMPLATE = app.jinja_env.from_string(PAGE)


@app.get("/")
def table():
    return TEMPLATE.render(rows=ROWS)
