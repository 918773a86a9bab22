"""Sales forecasting commands: ``sales`` (transactions -> sales table), ``predict`` (score a
file with a saved run) and ``export`` (a torch run to ONNX)."""
from __future__ import annotations

import json


def add_commands(sub) -> None:
    from .options import add_read_options

    s = sub.add_parser("sales", help="transaction log -> one row per (key, period) with next-period targets")
    add_read_options(s)
    s.add_argument("--key-col", required=True, help="product, customer, store... column")
    s.add_argument("--time-col", required=True)
    s.add_argument("--quantity-col", required=True)
    g = s.add_mutually_exclusive_group(required=True)
    g.add_argument("--price-col", help="unit price column")
    g.add_argument("--amount-col", help="line total column")
    s.add_argument("--period", choices=["day", "week", "month"], default="week")
    s.add_argument("--invoice-col", help="invoice column (orders; invoices starting with C are cancellations)")
    s.add_argument("--count-col", help="column whose distinct values are counted per period (e.g. customers)")
    s.add_argument("--attr-col", action="append", default=[], help="latest value per key (category, description); repeat")
    s.add_argument("--horizon", type=int, default=1)
    s.add_argument("--out", required=True)
    s.set_defaults(func=cmd_sales)

    s = sub.add_parser("predict", help="score a file with a saved run")
    s.add_argument("--run", required=True)
    s.add_argument("--data", required=True)
    s.add_argument("--keep", help="comma-separated extra columns to copy into the output")
    s.add_argument("--out", required=True)
    s.set_defaults(func=cmd_predict)

    s = sub.add_parser("export", help="export a torch run (ONNX), checked with onnxruntime on its test split")
    s.add_argument("--run", required=True)
    s.add_argument("--format", choices=["onnx"], default="onnx")
    s.add_argument("--no-check", action="store_true")
    s.add_argument("--out", required=True)
    s.set_defaults(func=cmd_export)


def cmd_sales(a) -> int:
    from ..data.io import read_table
    from ..data.sales import build_sales_table
    from .options import read_options, write_table

    df = read_table(a.data, read_options(a))
    table, report = build_sales_table(df, a.key_col, a.time_col, a.quantity_col, price_col=a.price_col,
                                      amount_col=a.amount_col, period=a.period, invoice_col=a.invoice_col,
                                      count_col=a.count_col, attr_cols=a.attr_col, horizon=a.horizon)
    write_table(table, a.out)
    print(json.dumps({"out": a.out, **report.to_dict()}, indent=2))
    return 0


def cmd_predict(a) -> int:
    from ..predict import predict_file
    from ..validate import split_list

    scored = predict_file(a.run, a.data, a.out, split_list(a.keep) if a.keep else None)
    print(f"wrote {len(scored):,} rows to {a.out}")
    return 0


def cmd_export(a) -> int:
    from ..errors import DataError
    from ..export import export_onnx
    from ..runs import load_run

    report = export_onnx(load_run(a.run), a.out, check=not a.no_check)
    print(json.dumps(report, indent=2))
    if not a.no_check and not report["ok"]:
        raise DataError(f"The ONNX model differs from the torch model by {report['worst']:.3g} (more than 1e-5).")
    return 0
