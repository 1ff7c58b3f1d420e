"""The web chat API as a hand-written OpenAPI 3.1 document, served at `/openapi.json`.

Hand-written because Starlette generates none, and a frontend or a WeChat mini-program team
should be able to read the contract without reading `web.py`. Keep it in step with the routes.
"""

from __future__ import annotations

from typing import Any

_ERROR = {"$ref": "#/components/schemas/Error"}
_STRING = {"type": "string"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return _json(_ERROR, description)


OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "二七帮 · 易企办 网页对话接口",
        "version": "0.1.0",
        "description": (
            '郑州市二七区企业诉求机器人的网页/微信内置浏览器渠道。错误一律返回 {"error": "中文说明"}。'
        ),
    },
    "components": {
        "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer", "description": "POST /api/sessions 返回的令牌"},
            "tokenQuery": {
                "type": "apiKey",
                "in": "query",
                "name": "token",
                "description": "仅用于 /api/events：浏览器的 EventSource 无法设置请求头。",
            },
        },
        "schemas": {
            "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
            "Button": {
                "type": "object",
                "required": ["label", "payload"],
                "properties": {"label": {"type": "string"}, "payload": {"type": "string"}},
            },
            "Reply": {
                "type": "object",
                "required": ["text", "buttons"],
                "properties": {
                    "text": {"type": "string"},
                    "buttons": {"type": "array", "items": {"$ref": "#/components/schemas/Button"}},
                },
            },
            "PushedMessage": {
                "type": "object",
                "required": ["id", "text", "buttons", "at"],
                "properties": {
                    "id": {"type": "integer"},
                    "text": {"type": "string"},
                    "buttons": {"type": "array", "items": {"$ref": "#/components/schemas/Button"}},
                    "at": {"type": "string", "format": "date-time"},
                },
            },
            "MessageIn": {
                "description": "text 与 button 二选一；请求体不超过 64 KB。",
                "oneOf": [
                    {"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}},
                    {"type": "object", "required": ["button"], "properties": {"button": {"type": "string"}}},
                ],
            },
        },
    },
    "paths": {
        "/api/sessions": {
            "post": {
                "summary": "建立会话，返回访问令牌",
                "security": [],
                "responses": {
                    "201": _json(
                        {"type": "object", "required": ["token"], "properties": {"token": _STRING}},
                        "新会话的令牌（请保存在本地）",
                    )
                },
            }
        },
        "/api/messages": {
            "post": {
                "summary": "发送文字或按钮，返回机器人的回复",
                "security": [{"bearer": []}],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/MessageIn"}}},
                },
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["replies"],
                            "properties": {
                                "replies": {"type": "array", "items": {"$ref": "#/components/schemas/Reply"}}
                            },
                        },
                        "回复列表",
                    ),
                    "400": _error("请求格式错误"),
                    "401": _error("缺少或无效的令牌"),
                    "413": _error("请求体超过 64 KB"),
                    "500": _error("系统繁忙"),
                },
            }
        },
        "/api/uploads": {
            "post": {
                "summary": "上传一个照片或文件（填写诉求时作为附件），返回机器人的回复",
                "description": (
                    "请求体为文件原始内容（不超过 20 MB）；Content-Type 为文件类型，"
                    "X-File-Name 为 URL 编码（UTF-8）的文件名。只在提交诉求的过程中接收，"
                    "允许图片（JPEG、PNG、GIF、WebP、HEIC）、PDF、Word/Excel 文档和纯文本，"
                    "每件诉求最多 9 个。"
                ),
                "security": [{"bearer": []}],
                "parameters": [
                    {
                        "name": "X-File-Name",
                        "in": "header",
                        "required": True,
                        "schema": _STRING,
                        "description": "URL 编码的 UTF-8 文件名，如 %E7%85%A7%E7%89%87.jpg",
                    }
                ],
                "requestBody": {
                    "required": True,
                    "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
                },
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["replies"],
                            "properties": {
                                "replies": {"type": "array", "items": {"$ref": "#/components/schemas/Reply"}}
                            },
                        },
                        "回复列表（文件不符合要求时，回复中说明原因）",
                    ),
                    "400": _error("缺少 X-File-Name 或文件为空"),
                    "401": _error("缺少或无效的令牌"),
                    "413": _error("文件超过 20 MB"),
                    "500": _error("系统繁忙"),
                },
            }
        },
        "/api/messages/pending": {
            "get": {
                "summary": "取回推送给本会话的未读消息（取回即标记已读）",
                "security": [{"bearer": []}],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["messages"],
                            "properties": {
                                "messages": {
                                    "type": "array",
                                    "items": {"$ref": "#/components/schemas/PushedMessage"},
                                }
                            },
                        },
                        "未读消息",
                    ),
                    "401": _error("缺少或无效的令牌"),
                },
            }
        },
        "/api/events": {
            "get": {
                "summary": "Server-Sent Events：推送消息实时到达（event: message，data 为 PushedMessage）",
                "security": [{"tokenQuery": []}],
                "parameters": [{"name": "token", "in": "query", "required": True, "schema": _STRING}],
                "responses": {
                    "200": {"description": "事件流", "content": {"text/event-stream": {"schema": _STRING}}},
                    "401": _error("缺少或无效的令牌"),
                },
            }
        },
        "/healthz": {
            "get": {
                "summary": "健康检查（含数据库）",
                "security": [],
                "responses": {
                    "200": _json({"type": "object", "properties": {"status": {"const": "ok"}}}, "正常"),
                    "503": _json(
                        {"type": "object", "properties": {"status": {"const": "error"}}}, "数据库异常"
                    ),
                },
            }
        },
        "/openapi.json": {
            "get": {"summary": "本文档", "security": [], "responses": {"200": {"description": "OpenAPI 3.1"}}}
        },
        "/": {
            "get": {
                "summary": "H5 对话页面",
                "security": [],
                "responses": {"200": {"description": "HTML", "content": {"text/html": {}}}},
            }
        },
    },
}
