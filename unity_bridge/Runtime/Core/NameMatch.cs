namespace AvatarForcing.Core
{
    /// <summary>One channel matched to a mesh blendshape name, with the similarity score (1 = same key).</summary>
    public sealed class NameMatch
    {
        public string Channel { get; private set; }
        public string MeshName { get; private set; }
        public double Score { get; private set; }

        public NameMatch(string channel, string meshName, double score)
        {
            Channel = channel;
            MeshName = meshName;
            Score = score;
        }

        public override string ToString() { return Channel + " -> " + MeshName + " (" + Score.ToString("0.00") + ")"; }
    }
}
