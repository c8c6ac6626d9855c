using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace AvatarForcing.Core
{
    /// <summary>
    /// A small strict JSON parser (RFC 8259) so the core needs neither UnityEngine.JsonUtility nor a NuGet
    /// package. Objects become Dictionary&lt;string, object&gt;, arrays List&lt;object&gt;, numbers double,
    /// plus string, bool and null. Malformed text raises ProtocolException("bad_json").
    /// </summary>
    public sealed class JsonReader
    {
        const int MaxDepth = 64;
        readonly string text;
        int pos;

        JsonReader(string text) { this.text = text; }

        public static object Parse(string text)
        {
            if (text == null) throw new ArgumentNullException("text");
            var r = new JsonReader(text);
            r.SkipWhitespace();
            object value = r.ReadValue(0);
            r.SkipWhitespace();
            if (r.pos != text.Length) throw r.Error("unexpected text after the JSON value");
            return value;
        }

        /// <summary>Parse text that must be a JSON object.</summary>
        public static Dictionary<string, object> ParseObject(string text)
        {
            var obj = Parse(text) as Dictionary<string, object>;
            if (obj == null) throw new ProtocolException("bad_json", "expected a JSON object");
            return obj;
        }

        object ReadValue(int depth)
        {
            if (depth > MaxDepth) throw Error("nesting deeper than " + MaxDepth);
            if (pos >= text.Length) throw Error("unexpected end of text");
            char c = text[pos];
            switch (c)
            {
                case '{': return ReadObject(depth);
                case '[': return ReadArray(depth);
                case '"': return ReadString();
                case 't': Expect("true"); return true;
                case 'f': Expect("false"); return false;
                case 'n': Expect("null"); return null;
                default:
                    if (c == '-' || (c >= '0' && c <= '9')) return ReadNumber();
                    throw Error("unexpected character '" + c + "'");
            }
        }

        Dictionary<string, object> ReadObject(int depth)
        {
            var obj = new Dictionary<string, object>(StringComparer.Ordinal);
            pos++;
            SkipWhitespace();
            if (Peek() == '}') { pos++; return obj; }
            while (true)
            {
                SkipWhitespace();
                if (Peek() != '"') throw Error("expected a quoted key");
                string key = ReadString();
                SkipWhitespace();
                if (Peek() != ':') throw Error("expected ':' after a key");
                pos++;
                SkipWhitespace();
                obj[key] = ReadValue(depth + 1);
                SkipWhitespace();
                char c = Peek();
                pos++;
                if (c == '}') return obj;
                if (c != ',') throw Error("expected ',' or '}' in an object");
            }
        }

        List<object> ReadArray(int depth)
        {
            var list = new List<object>();
            pos++;
            SkipWhitespace();
            if (Peek() == ']') { pos++; return list; }
            while (true)
            {
                SkipWhitespace();
                list.Add(ReadValue(depth + 1));
                SkipWhitespace();
                char c = Peek();
                pos++;
                if (c == ']') return list;
                if (c != ',') throw Error("expected ',' or ']' in an array");
            }
        }

        string ReadString()
        {
            pos++; // opening quote
            var sb = new StringBuilder();
            while (true)
            {
                if (pos >= text.Length) throw Error("unterminated string");
                char c = text[pos++];
                if (c == '"') return sb.ToString();
                if (c < 0x20) throw Error("control character in a string");
                if (c != '\\') { sb.Append(c); continue; }
                if (pos >= text.Length) throw Error("unterminated escape");
                char e = text[pos++];
                switch (e)
                {
                    case '"': sb.Append('"'); break;
                    case '\\': sb.Append('\\'); break;
                    case '/': sb.Append('/'); break;
                    case 'b': sb.Append('\b'); break;
                    case 'f': sb.Append('\f'); break;
                    case 'n': sb.Append('\n'); break;
                    case 'r': sb.Append('\r'); break;
                    case 't': sb.Append('\t'); break;
                    case 'u':
                        if (pos + 4 > text.Length) throw Error("short \\u escape");
                        int code;
                        if (!int.TryParse(text.Substring(pos, 4), NumberStyles.AllowHexSpecifier,
                                CultureInfo.InvariantCulture, out code))
                            throw Error("bad \\u escape");
                        sb.Append((char)code);
                        pos += 4;
                        break;
                    default: throw Error("unknown escape \\" + e);
                }
            }
        }

        double ReadNumber()
        {
            int start = pos;
            if (Peek() == '-') pos++;
            if (Peek() == '0') pos++;
            else if (IsDigit(Peek())) while (IsDigit(Peek())) pos++;
            else throw Error("bad number");
            if (Peek() == '.')
            {
                pos++;
                if (!IsDigit(Peek())) throw Error("bad number: digits expected after '.'");
                while (IsDigit(Peek())) pos++;
            }
            if (Peek() == 'e' || Peek() == 'E')
            {
                pos++;
                if (Peek() == '+' || Peek() == '-') pos++;
                if (!IsDigit(Peek())) throw Error("bad number: digits expected in the exponent");
                while (IsDigit(Peek())) pos++;
            }
            return double.Parse(text.Substring(start, pos - start), NumberStyles.Float, CultureInfo.InvariantCulture);
        }

        void Expect(string word)
        {
            if (string.CompareOrdinal(text, pos, word, 0, word.Length) != 0) throw Error("expected " + word);
            pos += word.Length;
        }

        char Peek() { return pos < text.Length ? text[pos] : '\0'; }

        static bool IsDigit(char c) { return c >= '0' && c <= '9'; }

        void SkipWhitespace()
        {
            while (pos < text.Length)
            {
                char c = text[pos];
                if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
                pos++;
            }
        }

        ProtocolException Error(string what)
        {
            return new ProtocolException("bad_json", string.Format("bad JSON at character {0}: {1}", pos, what));
        }
    }
}
