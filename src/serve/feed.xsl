<?xml version="1.0" encoding="utf-8"?>
<!-- gazette's feeds, as a page a browser shows: what the feed is, how to subscribe, and its
     items. Feed readers ignore it. Text is only ever copied as text (no disable-output-escaping):
     titles and summaries come from the internet. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:atom="http://www.w3.org/2005/Atom">
  <xsl:output method="html" encoding="utf-8" indent="no"/>
  <xsl:template match="/">
    <xsl:variable name="title" select="rss/channel/title | atom:feed/atom:title"/>
    <xsl:variable name="self" select="rss/channel/atom:link[@rel='self']/@href | atom:feed/atom:link[@rel='self']/@href"/>
    <html lang="en">
      <head>
        <meta charset="utf-8"/>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <title><xsl:value-of select="$title"/> · gazette feed</title>
        <style>body{font-family:system-ui,sans-serif;line-height:1.5;max-width:42em;margin:0 auto;padding:1em;color:#222;overflow-wrap:anywhere}a{color:#0645ad}.meta{color:#555;font-size:.9em}.how{background:#f3f6fb;border:1px solid #cdd8ea;padding:.6em 1em;border-radius:6px}code{word-break:break-all}ul{padding:0}li{list-style:none;margin-bottom:1em}</style>
      </head>
      <body>
        <nav><a href="../">gazette</a></nav>
        <h1><xsl:value-of select="$title"/></h1>
        <p><xsl:value-of select="rss/channel/description | atom:feed/atom:subtitle"/></p>
        <div class="how">
          <p><b>This is a web feed.</b> To subscribe, copy its address into your feed reader
          (Miniflux, FreshRSS, NetNewsWire, Feedly, Thunderbird…):</p>
          <p><code><xsl:value-of select="$self"/></code></p>
        </div>
        <h2>Items</h2>
        <ul>
          <xsl:for-each select="rss/channel/item">
            <li>
              <xsl:call-template name="item">
                <xsl:with-param name="title" select="title"/>
                <xsl:with-param name="href" select="atom:link[@rel='related']/@href"/>
                <xsl:with-param name="fallback" select="link"/>
                <xsl:with-param name="date" select="pubDate"/>
                <xsl:with-param name="summary" select="description"/>
              </xsl:call-template>
            </li>
          </xsl:for-each>
          <xsl:for-each select="atom:feed/atom:entry">
            <li>
              <xsl:call-template name="item">
                <xsl:with-param name="title" select="atom:title"/>
                <xsl:with-param name="href" select="atom:link[@rel='related']/@href"/>
                <xsl:with-param name="fallback" select="atom:link[@rel='alternate']/@href"/>
                <xsl:with-param name="date" select="atom:published"/>
                <xsl:with-param name="summary" select="atom:summary"/>
              </xsl:call-template>
            </li>
          </xsl:for-each>
        </ul>
      </body>
    </html>
  </xsl:template>
  <xsl:template name="item">
    <xsl:param name="title"/>
    <xsl:param name="href"/>
    <xsl:param name="fallback"/>
    <xsl:param name="date"/>
    <xsl:param name="summary"/>
    <!-- gazette's archived copy when the item links one, else the item's own link -->
    <xsl:variable name="to">
      <xsl:choose>
        <xsl:when test="$href"><xsl:value-of select="$href"/></xsl:when>
        <xsl:otherwise><xsl:value-of select="$fallback"/></xsl:otherwise>
      </xsl:choose>
    </xsl:variable>
    <a href="{$to}"><xsl:value-of select="$title"/></a><br/>
    <span class="meta"><xsl:value-of select="$date"/></span>
  </xsl:template>
</xsl:stylesheet>
