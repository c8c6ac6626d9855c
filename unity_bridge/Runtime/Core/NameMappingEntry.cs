namespace AvatarForcing.Core
{
    /// <summary>Drive mesh blendshape Target with Weight × channel Source (several entries may share a target).</summary>
    public sealed class NameMappingEntry
    {
        public string Source { get; private set; }
        public string Target { get; private set; }
        public float Weight { get; private set; }

        public NameMappingEntry(string source, string target, float weight = 1f)
        {
            Source = source;
            Target = target;
            Weight = weight;
        }
    }
}
