using System;
using System.Collections.Generic;
using AvatarForcing.Core;
using NUnit.Framework;

namespace AvatarForcing.Editor.Tests
{
    [TestFixture]
    public class ProtocolMessagesTests
    {
        [Test]
        public void SubscribeAndAudioMessages()
        {
            var sub = JsonReader.ParseObject(ProtocolMessages.Subscribe(new[] { "motion", "audio" }, "binary", "npc1"));
            Assert.AreEqual("subscribe", sub["type"]);
            Assert.AreEqual("binary", sub["format"]);
            Assert.AreEqual("npc1", sub["session"]);
            var audio = JsonReader.ParseObject(ProtocolMessages.Audio("avatar", 16000, new[] { 0f, 0.5f, -1f }, 0, 3, null));
            var pcm = Convert.FromBase64String((string)audio["data"]);
            Assert.AreEqual(6, pcm.Length);
            var back = AudioPcm.FromPcm16(pcm);
            Assert.AreEqual(0.5f, back[1], 1e-4);
            Assert.AreEqual(-1f, back[2], 1e-4);
            Assert.Throws<ArgumentException>(() => ProtocolMessages.Audio("npc", 16000, new float[1], 0, 1, null));
        }

        [Test]
        public void ParsesHelloAndRefusesOtherProtocols()
        {
            var hello = new Dictionary<string, object>
            {
                { "type", "hello" }, { "protocol", 1 }, { "fps", 25 }, { "layout_version", 1 },
                { "channels", new List<object>(MotionChannels.Names) }, { "sample_rate", 16000 },
                { "binary_frame_bytes", 264 }, { "session", "default" },
            };
            var m = ProtocolMessages.Parse(JsonWriter.Write(hello), null);
            Assert.AreEqual(62, m.Hello.Channels.Length);
            Assert.IsTrue(new ChannelLayout(m.Hello.Channels).IsIdentity);
            hello["protocol"] = 2;
            var e = Assert.Throws<ProtocolException>(() => ProtocolMessages.Parse(JsonWriter.Write(hello), null));
            Assert.AreEqual("protocol_mismatch", e.Code);
        }

        [Test]
        public void JsonMotionIsMappedByName()
        {
            var layout = new ChannelLayout(new[] { "jawOpen", "somethingNew", "headYaw" });
            var m = ProtocolMessages.Parse("{\"type\":\"motion\",\"frame\":3,\"t\":0.12,\"values\":[0.5,9,0.25]}", layout);
            Assert.AreEqual(3, m.Motion.Index);
            Assert.AreEqual(0.5f, m.Motion.Get("jawOpen"));
            Assert.AreEqual(0.25f, m.Motion.Get("headYaw"));
            Assert.AreEqual(0f, m.Motion.Get("eyeBlinkLeft"));
            CollectionAssert.Contains(layout.Missing, "eyeBlinkLeft");
        }

        [Test]
        public void BackoffGrowsToItsCapAndResets()
        {
            var b = new BackoffPolicy(0.5, 4.0, 2.0, 0.0);
            Assert.AreEqual(0.5, b.NextDelay(), 1e-9);
            Assert.AreEqual(1.0, b.NextDelay(), 1e-9);
            Assert.AreEqual(2.0, b.NextDelay(), 1e-9);
            Assert.AreEqual(4.0, b.NextDelay(), 1e-9);
            Assert.AreEqual(4.0, b.NextDelay(), 1e-9);
            b.Reset();
            Assert.AreEqual(0.5, b.NextDelay(), 1e-9);
        }

        [Test]
        public void ResampleAndDownmix()
        {
            var stereo = new[] { 1f, 0f, 0.5f, 0.5f };
            CollectionAssert.AreEqual(new[] { 0.5f, 0.5f }, AudioPcm.Downmix(stereo, 2));
            var ramp = new float[48];
            for (int i = 0; i < ramp.Length; i++) ramp[i] = i;
            var down = AudioPcm.Resample(ramp, 48000, 16000);
            Assert.AreEqual(16, down.Length);
            Assert.AreEqual(3f, down[1], 1e-5);
        }
    }
}
