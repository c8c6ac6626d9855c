using System.Collections.Generic;
using AvatarForcing.Core;
using NUnit.Framework;

namespace AvatarForcing.Editor.Tests
{
    [TestFixture]
    public class JsonTests
    {
        [Test]
        public void ParsesNestedValuesAndEscapes()
        {
            var o = JsonReader.ParseObject("{\"a\": [1, -2.5e1, true, null], \"s\": \"x\\\"y\\u00e9\\n\", \"o\": {}}");
            var a = (List<object>)o["a"];
            Assert.AreEqual(1.0, a[0]);
            Assert.AreEqual(-25.0, a[1]);
            Assert.AreEqual(true, a[2]);
            Assert.IsNull(a[3]);
            Assert.AreEqual("x\"y\u00e9\n", o["s"]);
            Assert.AreEqual(0, ((Dictionary<string, object>)o["o"]).Count);
        }

        [Test]
        public void WriterOutputParsesBack()
        {
            var o = new Dictionary<string, object> { { "k", "v\t\"" }, { "n", 0.1 }, { "l", new List<object> { 1, false } } };
            var back = JsonReader.ParseObject(JsonWriter.Write(o));
            Assert.AreEqual("v\t\"", back["k"]);
            Assert.AreEqual(0.1, back["n"]);
            Assert.AreEqual(false, ((List<object>)back["l"])[1]);
        }

        [Test]
        public void MalformedTextIsBadJson()
        {
            foreach (var text in new[] { "{", "{\"a\" 1}", "[1,]", "tru", "{\"a\":1} x", "\"open", "01" })
            {
                var e = Assert.Throws<ProtocolException>(() => JsonReader.Parse(text), text);
                Assert.AreEqual("bad_json", e.Code, text);
            }
        }
    }
}
